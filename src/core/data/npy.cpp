#include "qreport/core/data/npy.h"

#include <sys/stat.h>
#include <zip.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

constexpr std::string_view kMagic("\x93NUMPY", 6);
constexpr const char* kSupportedDtypes =
    "<f2 <f4 <f8 <i2 <i4 <i8 |i1 |u1 |b1, each also with '>' (big-endian) or '=' (native)";

struct DtypeCode {
  std::string_view code;
  DType dtype;
};
constexpr DtypeCode kDtypeCodes[] = {
    {"f2", DType::kFloat16}, {"f4", DType::kFloat32}, {"f8", DType::kFloat64},
    {"i1", DType::kInt8},    {"i2", DType::kInt16},   {"i4", DType::kInt32},
    {"i8", DType::kInt64},   {"u1", DType::kUInt8},   {"b1", DType::kBool},
};

constexpr bool kHostIsLittleEndian = __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__;

// What the header says; data_bytes is already checked against the bytes that follow it.
struct Header {
  DType dtype = DType::kFloat32;
  bool swap_bytes = false;
  bool fortran_order = false;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
  size_t data_bytes = 0;
};

// Counts every dim as at least 1, as NumPy does, so that neither the byte count nor any
// stride can overflow even for shapes with a zero dim. False if the product exceeds int64.
bool BoundedBytes(const std::vector<int64_t>& shape, size_t element_size, int64_t* bytes) {
  int64_t bound = static_cast<int64_t>(element_size);
  int64_t exact = bound;
  for (int64_t dim : shape) {
    if (dim < 0) return false;
    const int64_t factor = std::max<int64_t>(dim, 1);
    if (bound > std::numeric_limits<int64_t>::max() / factor) return false;
    bound *= factor;
    exact *= dim;
  }
  *bytes = exact;
  return true;
}

// The header's Python dict literal. Accepts what ast.literal_eval (NumPy's reader) accepts for
// the three keys NumPy writes - any key order and spacing, trailing commas, Python 2 'L'
// suffixes - and rejects everything else, saying what was expected where.
class HeaderParser {
 public:
  HeaderParser(std::string_view text, int major_version, const std::string& source)
      : text_(text), allow_long_suffix_(major_version < 3), source_(source) {}

  void Parse(Header* header) {
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    SkipSpace();
    Expect('{', "'{' opening the header dict");
    SkipSpace();
    while (!Consume('}')) {
      const std::string key = ParseString("a quoted key or '}'");
      SkipSpace();
      Expect(':', "':' after the key");
      SkipSpace();
      if (key == "descr") {
        MarkSeen(&seen_descr, key);
        ParseDescr(header);
      } else if (key == "fortran_order") {
        MarkSeen(&seen_fortran, key);
        header->fortran_order = ParseBool();
      } else if (key == "shape") {
        MarkSeen(&seen_shape, key);
        header->shape = ParseShape();
      } else {
        Fail("unknown key '{}' (expected 'descr', 'fortran_order' and 'shape')", key);
      }
      SkipSpace();
      if (!Consume(',')) {
        Expect('}', "',' or '}' after a value");
        break;
      }
      SkipSpace();
    }
    SkipSpace();
    if (pos_ != text_.size()) Fail("unexpected {} after the header dict", Found());
    if (!seen_descr || !seen_fortran || !seen_shape) {
      Fail("the header dict lacks '{}'", !seen_descr     ? "descr"
                                         : !seen_fortran ? "fortran_order"
                                                         : "shape");
    }
  }

 private:
  template <typename... Args>
  [[noreturn]] void Fail(fmt::format_string<Args...> format, Args&&... args) const {
    throw MakeError(ErrorKind::kBadData, "{}: bad .npy header: {}", source_,
                    fmt::format(format, std::forward<Args>(args)...));
  }
  [[noreturn]] void FailExpected(std::string_view what) const {
    Fail("expected {} at byte {} of the header, found {}", what, pos_, Found());
  }
  std::string Found() const {
    if (pos_ >= text_.size()) return "the end of the header";
    const unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
    return fmt::format("byte 0x{:02x}", c);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  bool Consume(char c) {
    if (AtEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void Expect(char c, std::string_view what) {
    if (!Consume(c)) FailExpected(what);
  }
  void SkipSpace() {
    while (!AtEnd() && std::string_view(" \t\n\r\f\v").find(text_[pos_]) != std::string_view::npos)
      ++pos_;
  }
  static bool IsWordChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  void MarkSeen(bool* seen, const std::string& key) {
    if (*seen) Fail("key '{}' appears twice", key);
    *seen = true;
  }

  std::string ParseString(std::string_view what) {
    const char quote = Peek();
    if (quote != '\'' && quote != '"') FailExpected(what);
    ++pos_;
    std::string out;
    while (!Consume(quote)) {
      // Backslash escapes and line breaks never occur in what NumPy writes here.
      if (AtEnd() || Peek() == '\\' || Peek() == '\n') FailExpected("a closing quote");
      out += text_[pos_++];
    }
    return out;
  }

  void ParseDescr(Header* header) {
    if (Peek() == '[') {
      throw MakeError(
          ErrorKind::kBadData,
          "{}: unsupported dtype: structured (record) dtypes are not read; supported: {}", source_,
          kSupportedDtypes);
    }
    const std::string descr = ParseString("a dtype string such as '<f4'");
    std::string_view code = descr;
    char order = '=';
    if (!code.empty() && std::string_view("<>=|").find(code[0]) != std::string_view::npos) {
      order = code[0];
      code.remove_prefix(1);
    }
    const auto* found = std::find_if(std::begin(kDtypeCodes), std::end(kDtypeCodes),
                                     [&](const DtypeCode& c) { return c.code == code; });
    if (found == std::end(kDtypeCodes)) {
      throw MakeError(ErrorKind::kBadData, "{}: unsupported dtype '{}'; supported: {}", source_,
                      descr, kSupportedDtypes);
    }
    header->dtype = found->dtype;
    header->swap_bytes = ElementSize(found->dtype) > 1 && (order == '>' || order == '<') &&
                         (order == '<') != kHostIsLittleEndian;
  }

  bool ParseBool() {
    for (bool value : {true, false}) {
      const std::string_view word = value ? "True" : "False";
      const size_t end = pos_ + word.size();
      if (text_.substr(pos_, word.size()) == word &&
          (end >= text_.size() || !IsWordChar(text_[end]))) {
        pos_ = end;
        return value;
      }
    }
    FailExpected("True or False for 'fortran_order'");
  }

  std::vector<int64_t> ParseShape() {
    Expect('(', "a tuple such as (2, 3) for 'shape'");
    std::vector<int64_t> shape;
    SkipSpace();
    while (!Consume(')')) {
      if (shape.size() == static_cast<size_t>(TensorView::kMaxDims)) {
        Fail("more than {} dimensions in 'shape'", TensorView::kMaxDims);
      }
      shape.push_back(ParseDim());
      SkipSpace();
      if (!Consume(',')) {
        // (3) is the integer 3 in Python, not a tuple: NumPy writes (3,).
        if (shape.size() == 1) FailExpected("',' after the dimension of a 1-d shape");
        Expect(')', "',' or ')' in 'shape'");
        break;
      }
      SkipSpace();
    }
    return shape;
  }

  int64_t ParseDim() {
    if (Peek() < '0' || Peek() > '9') FailExpected("a non-negative integer dimension");
    int64_t value = 0;
    while (Peek() >= '0' && Peek() <= '9') {
      const int digit = Peek() - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) {
        Fail("a dimension in 'shape' does not fit in 64 bits");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (allow_long_suffix_ && (Peek() == 'L' || Peek() == 'l')) ++pos_;
    if (IsWordChar(Peek())) FailExpected("',' or ')' after a dimension");
    return value;
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool allow_long_suffix_;
  const std::string& source_;
};

uint32_t LoadLittleEndian(const uint8_t* bytes, size_t n) {
  uint32_t value = 0;
  for (size_t i = n; i-- > 0;) value = (value << 8) | bytes[i];
  return value;
}

Header ParseHeader(const uint8_t* data, size_t size, const std::string& source) {
  constexpr ErrorKind kBad = ErrorKind::kBadData;
  QREPORT_CHECK_KIND(size > 0, kBad, "{}: empty file, expected a .npy array", source);
  QREPORT_CHECK_KIND(std::memcmp(data, kMagic.data(), std::min(size, kMagic.size())) == 0, kBad,
                     "{}: not a .npy file (expected it to start with \\x93NUMPY)", source);
  QREPORT_CHECK_KIND(size >= kMagic.size() + 2, kBad,
                     "{}: truncated .npy file: {} bytes, the format version is missing", source,
                     size);
  const int major = data[6], minor = data[7];
  QREPORT_CHECK_KIND(major >= 1 && major <= 3 && minor == 0, kBad,
                     "{}: unsupported .npy format version {}.{} (supported: 1.0, 2.0, 3.0)", source,
                     major, minor);
  const size_t length_bytes = major == 1 ? 2 : 4;
  const size_t text_start = 8 + length_bytes;
  QREPORT_CHECK_KIND(size >= text_start, kBad,
                     "{}: truncated .npy file: {} bytes, the header length is missing", source,
                     size);
  const size_t text_size = LoadLittleEndian(data + 8, length_bytes);
  QREPORT_CHECK_KIND(text_size <= size - text_start, kBad,
                     "{}: truncated .npy header: expected {} bytes of header, found {}", source,
                     text_size, size - text_start);
  Header header;
  const std::string_view text(reinterpret_cast<const char*>(data + text_start), text_size);
  HeaderParser(text, major, source).Parse(&header);

  int64_t data_bytes = 0;
  QREPORT_CHECK_KIND(BoundedBytes(header.shape, ElementSize(header.dtype), &data_bytes), kBad,
                     "{}: shape ({}) of {} is too large to address", source,
                     fmt::join(header.shape, ", "), ToString(header.dtype));
  header.data_offset = text_start + text_size;
  header.data_bytes = static_cast<size_t>(data_bytes);
  QREPORT_CHECK_KIND(header.data_bytes == size - header.data_offset, kBad,
                     "{}: expected {} bytes of data for {}[{}], found {}", source,
                     header.data_bytes, ToString(header.dtype), fmt::join(header.shape, ", "),
                     size - header.data_offset);
  return header;
}

// `data` holds exactly the header's data bytes, in the file's byte order.
NpyArray MakeArray(const Header& header, std::vector<uint8_t> data) {
  const size_t width = ElementSize(header.dtype);
  if (header.swap_bytes) {
    for (size_t i = 0; i + width <= data.size(); i += width) {
      std::reverse(data.begin() + i, data.begin() + i + width);
    }
  }
  // NumPy treats any non-zero byte as True; storing exactly 0/1 keeps reads as C++ bool defined.
  if (header.dtype == DType::kBool) {
    for (uint8_t& b : data) b = b != 0;
  }
  return NpyArray(header.dtype, header.shape, header.fortran_order, std::move(data));
}

NpyArray ParseOwned(std::vector<uint8_t> bytes, const std::string& source) {
  const Header header = ParseHeader(bytes.data(), bytes.size(), source);
  bytes.erase(bytes.begin(), bytes.begin() + header.data_offset);
  return MakeArray(header, std::move(bytes));
}

// A deleter type rather than decltype(&std::fclose): glibc 2.41 (Debian 13) declares fclose
// with attributes that GCC warns are dropped from a template argument (-Wignored-attributes).
struct CloseFile {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, CloseFile>;

// Opens `path` for reading; *size is the file's size (0 when it is not a regular file).
File OpenFile(const std::string& path, size_t* size) {
  File file(std::fopen(path.c_str(), "rb"));
  struct stat st {};
  QREPORT_CHECK_KIND(file != nullptr && ::fstat(fileno(file.get()), &st) == 0, ErrorKind::kIo,
                     "{}: cannot open: {}", path, std::strerror(errno));
  QREPORT_CHECK_KIND(!S_ISDIR(st.st_mode), ErrorKind::kIo, "{}: is a directory, not a file", path);
  *size = S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 0;
  return file;
}

// Reads until `read` (a read(2)-like callable that throws on errors) returns 0. `expected`
// sizes the buffer; one byte of slack lets the final zero-byte read need no reallocation.
template <typename Read>
std::vector<uint8_t> ReadAll(size_t expected, Read read) {
  std::vector<uint8_t> bytes(expected + 1);
  size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(bytes.size() * 2);
    const size_t n = read(bytes.data() + used, bytes.size() - used);
    if (n == 0) break;
    used += n;
  }
  bytes.resize(used);
  return bytes;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  size_t size = 0;
  File file = OpenFile(path, &size);
  return ReadAll(size, [&](uint8_t* into, size_t capacity) {
    const size_t n = std::fread(into, 1, capacity, file.get());
    QREPORT_CHECK_KIND(n > 0 || !std::ferror(file.get()), ErrorKind::kIo, "{}: cannot read: {}",
                       path, std::strerror(errno));
    return n;
  });
}

using ZipArchive = std::unique_ptr<zip_t, decltype(&zip_discard)>;

[[noreturn]] void ThrowNotZip(const std::string& source, zip_error_t* error) {
  const std::string reason = zip_error_strerror(error);
  zip_error_fini(error);
  throw MakeError(ErrorKind::kBadData,
                  "{}: not a readable .npz file (expected a zip archive of .npy files): {}", source,
                  reason);
}

ZipArchive OpenZip(const std::string& path, size_t* file_size) {
  OpenFile(path, file_size);  // the same I/O errors as ReadNpy
  int code = 0;
  zip_t* archive = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive == nullptr) {
    zip_error_t error;
    zip_error_init_with_code(&error, code);
    ThrowNotZip(path, &error);
  }
  return ZipArchive(archive, zip_discard);
}

// The archive reads `data` in place; it must outlive the returned archive.
ZipArchive OpenZipBuffer(const void* data, size_t size, const std::string& source) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(data, size, /*freep=*/0, &error);
  if (buffer == nullptr) ThrowNotZip(source, &error);
  zip_t* archive = zip_open_from_source(buffer, ZIP_RDONLY | ZIP_CHECKCONS, &error);
  if (archive == nullptr) {
    zip_source_free(buffer);  // only an opened archive takes the source over
    ThrowNotZip(source, &error);
  }
  zip_error_fini(&error);
  return ZipArchive(archive, zip_discard);
}

std::vector<uint8_t> ReadEntry(zip_t* archive, zip_uint64_t index, const zip_stat_t& stat,
                               size_t file_size, const std::string& source) {
  std::unique_ptr<zip_file_t, decltype(&zip_fclose)> file(zip_fopen_index(archive, index, 0),
                                                          zip_fclose);
  if (file == nullptr) {
    throw MakeError(ErrorKind::kBadData, "{}: cannot read the entry: {}", source,
                    zip_strerror(archive));
  }
  // Trust the size the directory claims only as far as deflate (at most 1032:1) can expand the
  // compressed bytes the file really has: a damaged directory must not allocate gigabytes.
  const zip_uint64_t compressed = std::min<zip_uint64_t>(stat.comp_size, file_size);
  const zip_uint64_t plausible = std::min<zip_uint64_t>(stat.size, compressed * 1032);
  return ReadAll(static_cast<size_t>(plausible), [&](uint8_t* into, size_t capacity) {
    const zip_int64_t n = zip_fread(file.get(), into, capacity);
    QREPORT_CHECK_KIND(n >= 0, ErrorKind::kBadData, "{}: damaged entry: {}", source,
                       zip_file_strerror(file.get()));
    return static_cast<size_t>(n);
  });
}

// Every entry of an opened .npz; `file_size` bounds what its entries may claim to hold.
std::vector<NamedArray> ReadArrays(zip_t* archive, size_t file_size, const std::string& path) {
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  std::vector<NamedArray> arrays;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    zip_stat_init(&stat);
    if (zip_stat_index(archive, i, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME) ||
        !(stat.valid & ZIP_STAT_SIZE) || !(stat.valid & ZIP_STAT_COMP_SIZE)) {
      throw MakeError(ErrorKind::kBadData, "{}: damaged zip directory at entry {}: {}", path, i,
                      zip_strerror(archive));
    }
    std::string name = stat.name;
    const std::string source = fmt::format("{}: entry '{}'", path, name);
    constexpr std::string_view kSuffix = ".npy";
    if (name.size() <= kSuffix.size() ||
        name.compare(name.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0) {
      throw MakeError(ErrorKind::kBadData, "{}: not a .npy file (an .npz holds only NAME.npy)",
                      source);
    }
    NpyArray array = ParseOwned(ReadEntry(archive, i, stat, file_size, source), source);
    name.resize(name.size() - kSuffix.size());
    arrays.push_back({std::move(name), std::move(array)});
  }
  return arrays;
}

}  // namespace

NpyArray::NpyArray(DType dtype, std::vector<int64_t> shape, bool fortran_order,
                   std::vector<uint8_t> data)
    : dtype_(dtype),
      shape_(std::move(shape)),
      fortran_order_(fortran_order),
      numel_(0),
      data_(std::move(data)) {
  QREPORT_CHECK(shape_.size() <= static_cast<size_t>(TensorView::kMaxDims),
                "npy array: {} dimensions, at most {} are supported", shape_.size(),
                TensorView::kMaxDims);
  int64_t bytes = 0;
  QREPORT_CHECK(BoundedBytes(shape_, ElementSize(dtype_), &bytes),
                "npy array: shape ({}) is negative or too large", fmt::join(shape_, ", "));
  QREPORT_CHECK(static_cast<size_t>(bytes) == data_.size(),
                "npy array: {}[{}] needs {} bytes, got {}", ToString(dtype_),
                fmt::join(shape_, ", "), bytes, data_.size());
  numel_ = bytes / static_cast<int64_t>(ElementSize(dtype_));
}

TensorView NpyArray::view() const {
  if (!fortran_order_) return TensorView::Contiguous(data_.data(), dtype_, shape_);
  std::vector<int64_t> strides(shape_.size());
  int64_t stride = 1;
  for (size_t d = 0; d < shape_.size(); ++d) {
    strides[d] = stride;
    stride *= shape_[d];
  }
  return TensorView(data_.data(), dtype_, shape_, strides);
}

NpyArray ReadNpy(const std::string& path) { return ParseOwned(ReadFile(path), path); }

NpyArray ParseNpy(const void* data, size_t size, const std::string& source_name) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  const Header header = ParseHeader(bytes, size, source_name);
  return MakeArray(header, std::vector<uint8_t>(bytes + header.data_offset,
                                                bytes + header.data_offset + header.data_bytes));
}

std::vector<NamedArray> ReadNpz(const std::string& path) {
  size_t file_size = 0;
  ZipArchive archive = OpenZip(path, &file_size);
  return ReadArrays(archive.get(), file_size, path);
}

std::vector<NamedArray> ParseNpz(const void* data, size_t size, const std::string& source_name) {
  ZipArchive archive = OpenZipBuffer(data, size, source_name);
  return ReadArrays(archive.get(), size, source_name);
}

bool LooksLikeNpz(const std::string& path) {
  File file(std::fopen(path.c_str(), "rb"));
  char magic[4];
  if (file == nullptr || std::fread(magic, 1, 4, file.get()) != 4) return false;
  // A local file header, or the end-of-directory record that is all an empty archive holds.
  return std::memcmp(magic, "PK\x03\x04", 4) == 0 || std::memcmp(magic, "PK\x05\x06", 4) == 0;
}

}  // namespace qreport
