#include "qreport/core/data/npy.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"

namespace qreport {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Little-endian bytes of an unsigned value, as the .npy and zip formats store lengths.
std::string Le(uint64_t value, int width) {
  std::string out;
  for (int i = 0; i < width; ++i, value >>= 8) out += static_cast<char>(value & 0xFF);
  return out;
}

// The raw bytes of `values` on this (little-endian) host.
template <typename T>
std::string Bytes(std::initializer_list<T> values) {
  std::string out;
  for (T value : values) out.append(reinterpret_cast<const char*>(&value), sizeof(T));
  return out;
}

// `data` with each `width`-byte element reversed: its big-endian form.
std::string Swapped(std::string data, size_t width) {
  for (size_t i = 0; i < data.size(); i += width) std::reverse(&data[i], &data[i] + width);
  return data;
}

// A .npy file whose header text is `dict`, padded as NumPy pads it (data 64-byte aligned).
std::string Npy(const std::string& dict, const std::string& data, int major = 1) {
  const size_t preamble = major == 1 ? 10 : 12;
  std::string header = dict;
  while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' +
         Le(header.size(), major == 1 ? 2 : 4) + header + data;
}

std::string Dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

std::string WriteTemp(const std::string& name, const std::string& bytes) {
  const std::string path = ::testing::TempDir() + name;
  // A fresh file, not a truncated one: ext4 flushes truncated-and-rewritten files on close.
  std::remove(path.c_str());
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// Every element in logical (C) order, read through the view's strides.
std::vector<double> Values(const TensorView& view) {
  std::vector<double> out;
  std::vector<int64_t> index(view.dim(), 0);
  for (int64_t n = 0; n < view.numel(); ++n) {
    int64_t offset = 0;
    for (int d = 0; d < view.dim(); ++d) offset += index[d] * view.stride(d);
    out.push_back(view.ValueAt(offset));
    for (int d = view.dim(); d-- > 0;) {
      if (++index[d] < view.size(d)) break;
      index[d] = 0;
    }
  }
  return out;
}

std::vector<double> Iota(int n) {
  std::vector<double> out(n);
  for (int i = 0; i < n; ++i) out[i] = i;
  return out;
}

uint32_t Crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

struct ZipEntry {
  std::string name, content;
  bool deflate = false;
};

// A zip archive as np.savez lays it out. Deflated entries use deflate's stored blocks: real
// method-8 data that libzip must inflate through zlib, built without a compressor.
std::string Zip(const std::vector<ZipEntry>& entries) {
  std::string body, directory;
  for (const ZipEntry& e : entries) {
    std::string data;
    for (size_t pos = 0; e.deflate && (pos < e.content.size() || data.empty());) {
      const size_t n = std::min<size_t>(e.content.size() - pos, 65535);
      data += static_cast<char>(pos + n == e.content.size()) + Le(n, 2) + Le(~n & 0xFFFF, 2) +
              e.content.substr(pos, n);
      pos += n;
    }
    if (!e.deflate) data = e.content;
    const std::string common = Le(20, 2) + Le(0, 2) + Le(e.deflate ? 8 : 0, 2) + Le(0, 4) +
                               Le(Crc32(e.content), 4) + Le(data.size(), 4) +
                               Le(e.content.size(), 4) + Le(e.name.size(), 2) + Le(0, 2);
    directory += "PK\x01\x02" + Le(20, 2) + common + Le(0, 10) + Le(body.size(), 4) + e.name;
    body += "PK\x03\x04" + common + e.name + data;
  }
  return body + directory + "PK\x05\x06" + Le(0, 4) + Le(entries.size(), 2) +
         Le(entries.size(), 2) + Le(directory.size(), 4) + Le(body.size(), 4) + Le(0, 2);
}

// The Error a call throws; fails the test if it throws nothing.
template <typename F>
Error ErrorOf(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no qreport::Error thrown";
  return Error(ErrorKind::kInternal, "none");
}

Error ParseError(const std::string& bytes) {
  return ErrorOf([&] { ParseNpy(bytes.data(), bytes.size(), "src.npy"); });
}

TEST(NpyTest, ReadsEveryDtypeExactlyInEitherByteOrder) {
  struct Case {
    std::string code;
    DType dtype;
    std::string little_endian;
    std::vector<double> values;
  };
  const Case cases[] = {
      // clang-format off
      {"f4", DType::kFloat32, Bytes<float>({1.5f, -2.25f, 3e38f}), {1.5, -2.25, double{3e38f}}},
      {"f8", DType::kFloat64, Bytes<double>({0.1, -1e300, 2.5}), {0.1, -1e300, 2.5}},
      {"f2", DType::kFloat16, Bytes<uint16_t>({0x3C00, 0xC100, 0x0001}), {1, -2.5, 0x1p-24}},
      {"i8", DType::kInt64, Bytes<int64_t>({-1, 1LL << 40, -(1LL << 62)}), {-1, 0x1p40, -0x1p62}},
      {"i4", DType::kInt32, Bytes<int32_t>({-7, 2147483647, -2147483647 - 1}),
       {-7, 2147483647, -0x1p31}},
      {"i2", DType::kInt16, Bytes<int16_t>({-32768, 1, 32767}), {-32768, 1, 32767}},
      {"i1", DType::kInt8, std::string("\x80\x00\x7f", 3), {-128, 0, 127}},
      {"u1", DType::kUInt8, std::string("\x00\xc8\xff", 3), {0, 200, 255}},
      {"b1", DType::kBool, std::string("\x00\x01\x07", 3), {0, 1, 1}},  // NumPy: non-zero is True
      // clang-format on
  };
  for (const Case& c : cases) {
    for (const std::string order : {"<", ">", "=", "|"}) {
      const size_t width = ElementSize(c.dtype);
      if (order == "|" && width > 1) continue;
      SCOPED_TRACE(order + c.code);
      const std::string data = order == ">" ? Swapped(c.little_endian, width) : c.little_endian;
      const std::string bytes = Npy(Dict(order + c.code, "(3,)"), data);
      const NpyArray array = ParseNpy(bytes.data(), bytes.size(), "x.npy");
      EXPECT_EQ(array.dtype(), c.dtype);
      EXPECT_THAT(array.shape(), ElementsAre(3));
      EXPECT_EQ(array.bytes(), 3 * width);
      EXPECT_EQ(Values(array.view()), c.values);
    }
  }
}

TEST(NpyTest, AcceptsEveryHeaderVersionSpacingAndKeyOrder) {
  std::string data;
  for (int i = 0; i < 6; ++i) data += Bytes<float>({static_cast<float>(i)});
  const std::string numpy_dict = Dict("<f4", "(2, 3)");
  const std::string files[] = {
      Npy(numpy_dict, data, 1),
      Npy(numpy_dict, data, 2),
      Npy(numpy_dict, data, 3),
      Npy("{\"shape\":(2,3),\"descr\":\"<f4\",\"fortran_order\":False}", data),
      Npy("  {  'fortran_order' :\tFalse ,\n 'shape' : ( 2 , 3 , ) , 'descr':'<f4' ,}", data),
      Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", data),  // Python 2
      std::string("\x93NUMPY\x01\x00", 8) + Le(numpy_dict.size(), 2) + numpy_dict + data,
  };
  for (const std::string& file : files) {
    SCOPED_TRACE(file.substr(0, 80));
    const NpyArray array = ParseNpy(file.data(), file.size(), "x.npy");
    EXPECT_THAT(array.shape(), ElementsAre(2, 3));
    EXPECT_FALSE(array.fortran_order());
    EXPECT_TRUE(array.view().is_contiguous());
    EXPECT_EQ(Values(array.view()), Iota(6));
  }
}

TEST(NpyTest, FortranOrderViewsTheDataWithColumnMajorStrides) {
  std::string data;  // element [i][j][k] = 100 i + 10 j + k, stored column-major
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 3; ++j)
      for (int i = 0; i < 2; ++i)
        data += Bytes<int16_t>({static_cast<int16_t>(100 * i + 10 * j + k)});
  const std::string bytes = Npy(Dict("<i2", "(2, 3, 4)", true), data);
  const NpyArray array = ParseNpy(bytes.data(), bytes.size(), "f.npy");
  EXPECT_TRUE(array.fortran_order());
  EXPECT_THAT(array.view().strides(), ElementsAre(1, 2, 6));
  std::vector<double> expected;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) expected.push_back(100 * i + 10 * j + k);
  EXPECT_EQ(Values(array.view()), expected);
}

TEST(NpyTest, ReadsScalarsEmptyArraysAndUpToEightDimensions) {
  const std::string scalar = Npy(Dict("<f8", "()"), Bytes<double>({3.5}), 3);
  const NpyArray a = ParseNpy(scalar.data(), scalar.size(), "s.npy");
  EXPECT_TRUE(a.shape().empty());
  EXPECT_EQ(a.numel(), 1);
  EXPECT_EQ(a.view().dim(), 0);
  EXPECT_EQ(a.view().ValueAt(0), 3.5);

  for (const char* shape : {"(0, 3)", "(3, 0, 2)", "(0, 1099511627776)"}) {
    const std::string empty = Npy(Dict("<f4", shape), "");
    const NpyArray e = ParseNpy(empty.data(), empty.size(), "e.npy");
    EXPECT_EQ(e.numel(), 0);
    EXPECT_EQ(e.bytes(), 0u);
    EXPECT_EQ(e.view().numel(), 0);
  }
  const std::string eight = Npy(Dict("|u1", "(1, 1, 1, 1, 1, 1, 1, 2)"), "\x05\x06");
  EXPECT_EQ(Values(ParseNpy(eight.data(), eight.size(), "8.npy").view()),
            (std::vector<double>{5, 6}));
  EXPECT_THAT(ParseError(Npy(Dict("|u1", "(1, 1, 1, 1, 1, 1, 1, 1, 2)"), "\x05\x06")).what(),
              HasSubstr("more than 8 dimensions"));
}

TEST(NpyTest, RejectsUnsupportedDtypesListingTheSupportedOnes) {
  for (const char* descr : {"<u2", "<u4", "<u8", "|O", "<U3", "|S4", "<c8", "<M8[ns]", "|V8"}) {
    const Error e = ParseError(Npy(Dict(descr, "(1,)"), "12345678"));
    EXPECT_EQ(e.kind(), ErrorKind::kBadData);
    EXPECT_THAT(e.what(), HasSubstr(std::string("unsupported dtype '") + descr + "'"));
    EXPECT_THAT(e.what(), HasSubstr("supported: <f2 <f4 <f8"));
  }
  const Error e =
      ParseError(Npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", "1234"));
  EXPECT_THAT(e.what(), HasSubstr("structured"));
}

TEST(NpyTest, MalformedHeadersSayWhatWasExpected) {
  const std::string magic("\x93NUMPY", 6);
  const std::string valid = Npy(Dict("<f4", "(1,)"), "1234");
  const std::pair<std::string, std::string> cases[] = {
      {Npy(Dict("<f4", "(2, 3)"), std::string(20, '\0')),
       "src.npy: expected 24 bytes of data for float32[2, 3], found 20"},
      {Npy(Dict("<f4", "(1,)"), "12345"), "expected 4 bytes of data for float32[1], found 5"},
      {Npy(Dict("<f4", "(4611686018427387904, 4)"), ""), "too large to address"},
      {Npy(Dict("<f8", "(0, 4611686018427387904)"), ""), "too large to address"},
      {"", "empty file"},
      {"hello, world", "not a .npy file"},
      {magic.substr(0, 4), "truncated .npy file: 4 bytes"},
      {magic + std::string("\x04\x00", 2) + valid.substr(8), "unsupported .npy format version 4.0"},
      {magic + std::string("\x01\x00\x05", 3), "header length is missing"},
      {valid.substr(0, 40), "truncated .npy header: expected 118 bytes of header, found 30"},
      {Npy("['descr']", ""),
       "expected '{' opening the header dict at byte 0 of the header, found '['"},
      {Npy("{'descr': '<f4', 'fortran_order': False}", ""), "lacks 'shape'"},
      {Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", ""),
       "unknown key 'x'"},
      {Npy("{'descr': '<f4', 'descr': '<f4'}", ""), "key 'descr' appears twice"},
      {Npy(Dict("<f4", "(1)"), "1234"), "expected ',' after the dimension of a 1-d shape"},
      {Npy(Dict("<f4", "(-1,)"), ""), "expected a non-negative integer dimension"},
      {Npy(Dict("<f4", "[1]"), "1234"), "expected a tuple such as (2, 3) for 'shape'"},
      {Npy(Dict("<f4", "(1x,)"), "1234"), "expected ',' or ')' after a dimension"},
      {Npy(Dict("<f4", "(99999999999999999999,)"), ""), "does not fit in 64 bits"},
      {Npy(Dict("<f4", "(1L,)"), "1234", 3), "expected ',' or ')' after a dimension"},
      {Npy("{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", ""), "True or False"},
      {Npy("{'descr': '<f4', 'fortran_order': Trueish, 'shape': (1,)}", ""), "True or False"},
      {Npy("{'descr' '<f4'}", ""), "expected ':' after the key"},
      {Npy("{'descr: 1}", ""), "expected a closing quote"},
      {Npy("{'descr': '<f4' 'shape': (1,)}", ""), "expected ',' or '}' after a value"},
      {Npy(Dict("<f4", "(1,)") + " x", "1234"), "unexpected 'x' after the header dict"},
      {Npy("{'descr': '<f4',\xff}", ""), "found byte 0xff"},
  };
  for (const auto& [bytes, expected] : cases) {
    SCOPED_TRACE(expected);
    const Error e = ParseError(bytes);
    EXPECT_EQ(e.kind(), ErrorKind::kBadData);
    EXPECT_THAT(e.what(), StartsWith("src.npy: "));
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

TEST(NpyTest, ReadsFilesAndReportsIoErrorsWithThePath) {
  const std::string path =
      WriteTemp("ok.npy", Npy(Dict(">f8", "(2,)"), Swapped(Bytes<double>({1, 2}), 8)));
  EXPECT_EQ(Values(ReadNpy(path).view()), (std::vector<double>{1, 2}));
  EXPECT_FALSE(LooksLikeNpz(path));

  const std::string missing = ::testing::TempDir() + "missing.npy";
  const Error e = ErrorOf([&] { ReadNpy(missing); });
  EXPECT_EQ(e.kind(), ErrorKind::kIo);
  EXPECT_EQ(std::string(e.what()), missing + ": cannot open: No such file or directory");
  EXPECT_FALSE(LooksLikeNpz(missing));
  EXPECT_EQ(ErrorOf([&] { ReadNpy(::testing::TempDir()); }).kind(), ErrorKind::kIo);

  const std::string cut = WriteTemp("cut.npy", Npy(Dict("<f4", "(2,)"), "1234"));
  const Error bad = ErrorOf([&] { ReadNpy(cut); });
  EXPECT_EQ(bad.kind(), ErrorKind::kBadData);
  EXPECT_THAT(bad.what(), StartsWith(cut + ": expected 8 bytes of data"));
}

std::vector<ZipEntry> SampleEntries(bool deflate) {
  std::string floats;
  for (int i = 0; i < 6; ++i) floats += Bytes<float>({static_cast<float>(i)});
  return {{"weights.npy", Npy(Dict("<f4", "(2, 3)"), floats), deflate},
          {"arr_0.npy", Npy(Dict(">i8", "()"), Swapped(Bytes<int64_t>({-5}), 8)), deflate},
          {"nested/mask.npy", Npy(Dict("|b1", "(0, 4)"), ""), deflate}};
}

TEST(NpzTest, ReadsStoredAndDeflatedArchivesInArchiveOrder) {
  for (bool deflate : {false, true}) {
    const std::string path = WriteTemp("sample.npz", Zip(SampleEntries(deflate)));
    EXPECT_TRUE(LooksLikeNpz(path));
    const std::vector<NamedArray> arrays = ReadNpz(path);
    ASSERT_EQ(arrays.size(), 3u);
    EXPECT_EQ(arrays[0].name, "weights");
    EXPECT_EQ(Values(arrays[0].array.view()), Iota(6));
    EXPECT_EQ(arrays[1].name, "arr_0");
    EXPECT_EQ(Values(arrays[1].array.view()), std::vector<double>{-5});
    EXPECT_EQ(arrays[2].name, "nested/mask");
    EXPECT_THAT(arrays[2].array.shape(), ElementsAre(0, 4));
  }
  const std::string empty = WriteTemp("empty.npz", Zip({}));
  EXPECT_TRUE(LooksLikeNpz(empty));
  EXPECT_TRUE(ReadNpz(empty).empty());
}

TEST(NpzTest, ErrorsNameTheArchiveAndTheEntry) {
  const std::string dir = ::testing::TempDir();
  EXPECT_EQ(ErrorOf([&] { ReadNpz(dir + "missing.npz"); }).kind(), ErrorKind::kIo);
  const std::string npy = WriteTemp("plain.npy", Npy(Dict("<f4", "()"), "1234"));
  const Error not_zip = ErrorOf([&] { ReadNpz(npy); });
  EXPECT_EQ(not_zip.kind(), ErrorKind::kBadData);
  EXPECT_THAT(not_zip.what(), StartsWith(npy + ": not a readable .npz file"));

  std::string stored = Zip(SampleEntries(false));
  const std::pair<std::string, std::string> cases[] = {
      {Zip({{"notes.txt", "hello"}}), "bad.npz: entry 'notes.txt': not a .npy file"},
      {Zip({{"a.npy", Npy(Dict("<f4", "(2,)"), "1234"), true}}),
       "bad.npz: entry 'a.npy': expected 8 bytes of data for float32[2], found 4"},
      {Zip({{"a.npy", "not numpy"}}), "bad.npz: entry 'a.npy': not a .npy file"},
      {stored.replace(stored.find("weights.npy") + 11 + 130, 1, "!"),
       "bad.npz: entry 'weights.npy': damaged entry: CRC error"},
      {Zip(SampleEntries(true)).substr(0, 300), "bad.npz: not a readable .npz file"},
  };
  for (const auto& [bytes, expected] : cases) {
    const Error e = ErrorOf([&] { ReadNpz(WriteTemp("bad.npz", bytes)); });
    EXPECT_EQ(e.kind(), ErrorKind::kBadData);
    EXPECT_THAT(e.what(), HasSubstr(expected));
  }
}

// Where the tests find Python with NumPy; the torch-free build may have neither.
std::string PythonWithNumpy() {
  const char* env = std::getenv("QREPORT_PYTHON_PATH");
#ifdef QREPORT_PYTHON_PATH
  const std::string python = env != nullptr ? env : QREPORT_PYTHON_PATH;
#else
  const std::string python = env != nullptr ? env : "/usr/bin/python3";
#endif
  const std::string probe = python + " -c 'import numpy' >/dev/null 2>&1";
  return std::system(probe.c_str()) == 0 ? python : "";
}

TEST(NpzTest, ReadsWhatNumPyWrites) {
  const std::string python = PythonWithNumpy();
  if (python.empty()) GTEST_SKIP() << "no Python with NumPy";
  const std::string dir = ::testing::TempDir() + "numpy/";
  const std::string script = WriteTemp("write_npy.py", R"(import os, sys
import numpy as np
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
a = {t.replace('<', 'l').replace('>', 'b').replace('|', 'n'): np.arange(24).astype(t).reshape(2, 3, 4)
     for t in ['<f4', '<f8', '<f2', '<i8', '<i4', '<i2', '|i1', '|u1', '>f4', '>f8', '>f2', '>i8', '>i2']}
a['fortran'] = np.asfortranarray(np.arange(24, dtype='<i4').reshape(2, 3, 4))
a['mask'] = (np.arange(24) % 3 == 0).reshape(2, 3, 4)
for name, x in a.items():
    np.save(os.path.join(d, name + '.npy'), x)
np.savez(os.path.join(d, 'stored.npz'), **a)
np.savez_compressed(os.path.join(d, 'compressed.npz'), np.float64(2.5), **a)
)");
  ASSERT_EQ(std::system((python + " " + script + " " + dir).c_str()), 0);
  std::vector<double> mask;
  for (int i = 0; i < 24; ++i) mask.push_back(i % 3 == 0);
  const auto check = [&](const std::string& name, const NpyArray& array) {
    SCOPED_TRACE(name);
    EXPECT_THAT(array.shape(), ElementsAre(2, 3, 4));
    EXPECT_EQ(array.fortran_order(), name == "fortran");
    EXPECT_EQ(Values(array.view()), name == "mask" ? mask : Iota(24));
  };
  for (const char* name : {"lf4", "lf8", "lf2", "li8", "li4", "li2", "ni1", "nu1", "bf4", "bf8",
                           "bf2", "bi8", "bi2", "fortran", "mask"}) {
    check(name, ReadNpy(dir + name + ".npy"));
  }
  for (const char* archive : {"stored.npz", "compressed.npz"}) {
    const std::vector<NamedArray> arrays = ReadNpz(dir + archive);
    ASSERT_EQ(arrays.size(), archive[0] == 's' ? 15u : 16u);
    for (const NamedArray& entry : arrays) {
      if (entry.name == "arr_0") {
        EXPECT_EQ(Values(entry.array.view()), std::vector<double>{2.5});
      } else {
        check(entry.name, entry.array);
      }
    }
    EXPECT_EQ(arrays.front().name, "lf4");
  }
}

// ParseNpy on one input must return a self-consistent array or throw qreport::Error.
void ParseOne(const std::string& bytes, int* accepted, int* rejected) {
  try {
    const NpyArray array = ParseNpy(bytes.data(), bytes.size(), "fuzz.npy");
    int64_t numel = 1;
    for (int64_t dim : array.shape()) numel *= dim;
    ASSERT_EQ(array.bytes(), static_cast<size_t>(numel) * ElementSize(array.dtype()));
    const TensorView view = array.view();
    ASSERT_EQ(view.numel(), numel);
    int64_t last = 0;  // the farthest element the view can address: must lie inside the bytes
    for (int d = 0; d < view.dim(); ++d) last += (view.size(d) - 1) * view.stride(d);
    if (numel > 0) {
      ASSERT_LT(last, numel);
      view.ValueAt(last);
    }
    ++*accepted;
  } catch (const Error&) {
    ++*rejected;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw " << e.what() << " for input of " << bytes.size() << " bytes";
  }
}

TEST(NpyFuzzTest, MutatedInputsGiveConsistentArraysOrErrors) {
  const std::string seeds[] = {
      Npy(Dict("<f4", "(2, 3)"), std::string(24, '\x3f')),
      Npy(Dict(">i8", "(3, 2)", true), std::string(48, '\x01'), 2),
      Npy(Dict("<f2", "()"), std::string("\x00\x3c", 2), 3),
      Npy(Dict("|b1", "(0, 5)"), ""),
      Npy(Dict("|u1", "(1, 1, 1, 1, 1, 1, 1, 3)"), "abc"),
  };
  const std::string printable = "{}()[],:'\" 0123456789TrueFalsL<>|=fiubdescrshape_";
  std::mt19937 rng(12345);
  int accepted = 0, rejected = 0;
  for (const std::string& seed : seeds) {
    ASSERT_NO_THROW(ParseNpy(seed.data(), seed.size(), "seed.npy"));
    for (size_t n = 0; n <= seed.size(); ++n) ParseOne(seed.substr(0, n), &accepted, &rejected);
    for (size_t pos = 0; pos < seed.size(); ++pos) {
      for (int variant = 0; variant < 4; ++variant) {
        std::string mutated = seed;
        const char values[] = {static_cast<char>(seed[pos] ^ (1 << (pos % 8))), '\0', '\xff',
                               printable[rng() % printable.size()]};
        mutated[pos] = values[variant];
        ParseOne(mutated, &accepted, &rejected);
      }
    }
    for (int i = 0; i < 2000; ++i) {  // overwrite a few header bytes with header-like text
      std::string mutated = seed;
      const size_t pos = 10 + rng() % 118, length = 1 + rng() % 8;
      for (size_t k = pos; k < std::min(pos + length, mutated.size()); ++k) {
        mutated[k] = printable[rng() % printable.size()];
      }
      ParseOne(mutated, &accepted, &rejected);
    }
  }
  for (const char* shape :
       {"(9223372036854775807,)", "(9223372036854775808,)", "(3037000500, 3037000500)",
        "(0, 9223372036854775807, 9223372036854775807)", "(4294967296, 4294967296, 0)",
        "(1, 1, 1, 1, 1, 1, 1, 1, 1)", "(2305843009213693952,)"}) {
    for (const size_t data : {0, 1, 24}) {
      ParseOne(Npy(Dict("<f4", shape), std::string(data, 'x')), &accepted, &rejected);
    }
  }
  // Neither outcome may be vacuous: about 350 inputs parse (changed data), 13000 do not.
  EXPECT_GT(accepted, 300);
  EXPECT_GT(rejected, 10000);
}

// The same for whole archives: libzip and the entry parsing must fail cleanly on damage.
TEST(NpyFuzzTest, DamagedArchivesThrowErrors) {
  for (bool deflate : {false, true}) {
    const std::string archive = Zip(SampleEntries(deflate));
    for (size_t pos = 0; pos <= archive.size(); ++pos) {
      for (int variant = 0; variant < 3; ++variant) {
        std::string mutated = archive.substr(0, variant == 0 ? pos : archive.size());
        if (variant > 0 && pos < archive.size()) mutated[pos] ^= variant == 1 ? 0x01 : 0xFF;
        try {
          const std::vector<NamedArray> arrays = ReadNpz(WriteTemp("fuzz.npz", mutated));
          EXPECT_LE(arrays.size(), 3u);
        } catch (const Error&) {
        } catch (const std::exception& e) {
          ADD_FAILURE() << "threw " << e.what() << " at byte " << pos;
        }
      }
    }
  }
}

}  // namespace
}  // namespace qreport
