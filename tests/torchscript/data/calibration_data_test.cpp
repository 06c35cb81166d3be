#include "qreport/torchscript/calibration_data.h"

#include <cstdlib>
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "qreport/core/error.h"
#include "qreport/torchscript/model.h"
#include "torchscript/fixtures.h"

namespace qreport::torchscript {
namespace {

using qreport::testing::FixturePath;
using ::testing::HasSubstr;
using ::testing::Not;

// Written by tests/fixtures/export_data.py (CTest's fixtures.data); $QREPORT_DATA_FIXTURES
// overrides the directory.
std::string Data(const std::string& file) {
  const char* dir = std::getenv("QREPORT_DATA_FIXTURES");
  return std::string(dir != nullptr && *dir != '\0' ? dir : QREPORT_DATA_FIXTURE_DIR) + "/" + file;
}

using Batch = std::vector<c10::IValue>;

std::vector<Batch> ReadAll(CalibrationData& data) {
  std::vector<Batch> batches;
  while (auto batch = data.Next()) batches.push_back(std::move(*batch));
  return batches;
}

std::vector<Batch> ReadAll(const std::vector<std::string>& entries,
                           const DataOptions& options = {}) {
  return ReadAll(*FileData(entries, options));
}

DataOptions ForModel(const std::string& model_file) {
  DataOptions options;
  options.arguments = ForwardArguments(Model::Load(FixturePath(model_file)).module());
  return options;
}

// Runs `read` (which must throw) and checks the error's kind and that its one-line message
// holds every one of `says`.
void ExpectError(const std::function<void()>& read, ErrorKind kind,
                 const std::vector<std::string>& says) {
  try {
    read();
    ADD_FAILURE() << "no error; expected one saying " << says.front();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const std::string& text : says) EXPECT_THAT(e.what(), HasSubstr(text));
    EXPECT_THAT(e.what(), Not(HasSubstr("\n")));
  }
}

std::vector<int64_t> Shape(const c10::IValue& value) { return value.toTensor().sizes().vec(); }

// export_data.py's rows(): element [i][j] of a file is (start + i) * features + j.
double At(const c10::IValue& value, int64_t i, int64_t j) {
  return value.toTensor().to(at::kDouble)[i][j].item<double>();
}

TEST(NumpyDataTest, NpyFileIsOneBatchOfOneInput) {
  auto data = FileData({Data("f32.npy")});
  EXPECT_EQ(data->size(), 1);
  EXPECT_EQ(data->Describe(), "");
  auto batch = data->Next();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 1u);
  EXPECT_EQ(Shape((*batch)[0]), (std::vector<int64_t>{4, 16}));
  EXPECT_EQ(At((*batch)[0], 2, 3), 2 * 16 + 3);
  EXPECT_EQ(data->Describe(), Data("f32.npy") + ": input 0 (float32 [4,16])");
  EXPECT_FALSE(data->Next().has_value());
  EXPECT_EQ(data->Describe(), "") << "no batch after the end";
}

TEST(NumpyDataTest, FloatingArraysBecomeFloat32AndIntegersInt64) {
  const std::vector<std::pair<std::string, at::ScalarType>> cases = {
      {"f32.npy", at::kFloat}, {"f64.npy", at::kFloat}, {"f16.npy", at::kFloat},
      {"i64.npy", at::kLong},  {"i32.npy", at::kLong},  {"u8.npy", at::kLong},
      {"bool.npy", at::kBool}};
  for (const auto& [file, dtype] : cases) {
    const auto batches = ReadAll({Data(file)});
    ASSERT_EQ(batches.size(), 1u) << file;
    const at::Tensor t = batches[0][0].toTensor();
    EXPECT_EQ(t.scalar_type(), dtype) << file;
    if (dtype != at::kBool) {
      EXPECT_EQ(At(batches[0][0], 3, 15), 63) << file;
    }
  }
}

TEST(NumpyDataTest, AsStoredKeepsTheFileDType) {
  DataOptions options;
  options.dtypes = DataOptions::DTypes::kAsStored;
  EXPECT_EQ(ReadAll({Data("f64.npy")}, options)[0][0].toTensor().scalar_type(), at::kDouble);
  EXPECT_EQ(ReadAll({Data("i32.npy")}, options)[0][0].toTensor().scalar_type(), at::kInt);
}

TEST(NumpyDataTest, ForwardArgumentsComeFromTheSchema) {
  const auto arguments = ForwardArguments(Model::Load(FixturePath("multi_input.pt")).module());
  ASSERT_EQ(arguments.size(), 2u);
  EXPECT_EQ(arguments[0].name, "a");
  EXPECT_EQ(arguments[1].name, "b");
  EXPECT_EQ(arguments[0].type, "Tensor");
  EXPECT_FALSE(arguments[1].default_value.has_value());
}

TEST(NumpyDataTest, NpzWithoutArgumentNamesIsTakenInOrder) {
  auto data = FileData({Data("by_order.npz")}, ForModel("multi_input.pt"));
  const auto batch = data->Next();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ(Shape((*batch)[0]), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(Shape((*batch)[1]), (std::vector<int64_t>{2, 6}));
  EXPECT_EQ(data->Describe(),
            Data("by_order.npz") + ": inputs 'a' (float32 [2,8]), 'b' (float32 [2,6])");
}

TEST(NumpyDataTest, NpzEntriesNamedLikeArgumentsAreMatchedByName) {
  // np.savez(path, b=b, a=a): the archive holds b first.
  for (const char* file : {"by_name.npz", "by_name_compressed.npz"}) {
    const auto batches = ReadAll({Data(file)}, ForModel("multi_input.pt"));
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 2u);
    EXPECT_EQ(Shape(batches[0][0]), (std::vector<int64_t>{2, 8})) << file;
    EXPECT_EQ(Shape(batches[0][1]), (std::vector<int64_t>{2, 6})) << file;
    EXPECT_EQ(At(batches[0][1], 0, 0), 100 * 6) << file;
  }
  // Without forward's names the archive order is all there is.
  const auto unnamed = ReadAll({Data("by_name.npz")});
  EXPECT_EQ(Shape(unnamed[0][0]), (std::vector<int64_t>{2, 6}));
}

TEST(NumpyDataTest, InputsThatDoNotFitForwardAreErrorsNamingTheFile) {
  const DataOptions two = ForModel("multi_input.pt");
  ExpectError(
      [&] { ReadAll({Data("missing_name.npz")}, two); }, ErrorKind::kBadData,
      {Data("missing_name.npz"), "no array for input 'b' of forward(a, b)", "the file holds: a"});
  ExpectError([&] { ReadAll({Data("stray_name.npz")}, two); }, ErrorKind::kBadData,
              {Data("stray_name.npz"), "the entry 'c' names no argument of forward(a, b)"});
  ExpectError([&] { ReadAll({Data("three.npz")}, two); }, ErrorKind::kBadData,
              {Data("three.npz"), "3 input(s), but forward(a, b) takes 2"});
  ExpectError([&] { ReadAll({Data("f32.npy")}, two); }, ErrorKind::kBadData,
              {Data("f32.npy"), "1 input(s), but forward(a, b) takes 2"});
}

TEST(NumpyDataTest, BatchSizeSplitsAlongTheFirstDimension) {
  DataOptions options;
  options.batch_size = 4;
  for (const char* file : {"rows10.npy", "rows10.npz"}) {
    auto data = FileData({Data(file)}, options);
    EXPECT_FALSE(data->size().has_value()) << "the row count is known once the file is read";
    std::vector<int64_t> rows;
    std::vector<double> first_values;
    while (auto batch = data->Next()) {
      rows.push_back((*batch)[0].toTensor().size(0));
      first_values.push_back(At((*batch)[0], 0, 0));
      if (rows.size() == 2) {
        EXPECT_EQ(data->Describe(), Data(file) + "[4:8]: input 0 (float32 [4,16])");
      }
    }
    EXPECT_EQ(rows, (std::vector<int64_t>{4, 4, 2})) << file;
    EXPECT_EQ(first_values, (std::vector<double>{0, 4 * 16, 8 * 16})) << file;
  }
  EXPECT_EQ(ReadAll({Data("rows10.npy")}).size(), 1u) << "without a batch size, one batch";
}

TEST(NumpyDataTest, SplittingNeedsOneLeadingDimension) {
  DataOptions options;
  options.batch_size = 2;
  ExpectError([&] { ReadAll({Data("rows_mismatch.npz")}, options); }, ErrorKind::kBadData,
              {Data("rows_mismatch.npz"), "input 'b' has 3 rows but input 'a' has 4"});
  ExpectError([&] { ReadAll({Data("scalar.npy")}, options); }, ErrorKind::kBadData,
              {Data("scalar.npy"), "scalar"});
}

TEST(NumpyDataTest, EmptyDataIsAnError) {
  for (int64_t batch_size : {0, 4}) {
    DataOptions options;
    options.batch_size = batch_size;
    ExpectError([&] { ReadAll({Data("no_rows.npy")}, options); }, ErrorKind::kBadData,
                {Data("no_rows.npy"), "input 0 is empty (shape [0,16])"});
  }
  ExpectError([&] { ReadAll({Data("empty.npz")}); }, ErrorKind::kBadData, {Data("empty.npz")});
  ExpectError([&] { FileData({Data("empty_dir")}); }, ErrorKind::kBadData,
              {Data("empty_dir"), "holds no .npy or .npz files"});
  ExpectError([&] { FileData({Data("container_empty.pt") + ":inputs"}); }, ErrorKind::kBadData,
              {Data("container_empty.pt") + ":inputs", "the list is empty"});
  ExpectError([] { FileData({}); }, ErrorKind::kInvalidArgument, {"no calibration data"});
}

TEST(NumpyDataTest, DirectoryIsOneBatchPerFileSortedByName) {
  auto data = FileData({Data("dir")});
  EXPECT_EQ(data->size(), 3);
  std::vector<int64_t> rows;
  std::vector<double> first_values;
  while (auto batch = data->Next()) {
    rows.push_back((*batch)[0].toTensor().size(0));
    first_values.push_back(At((*batch)[0], 0, 0));
  }
  EXPECT_EQ(rows, (std::vector<int64_t>{1, 2, 3}));  // a_first, b_middle.npz, c_last
  EXPECT_EQ(first_values, (std::vector<double>{10 * 16, 20 * 16, 30 * 16}));
}

TEST(ContainerDataTest, TensorIsOneBatchAndSplits) {
  const std::string entry = Data("container_tensor.pt") + ":inputs";
  auto data = FileData({entry});
  EXPECT_EQ(data->size(), 1);
  const auto batches = ReadAll(*data);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(Shape(batches[0][0]), (std::vector<int64_t>{6, 16}));

  DataOptions options;
  options.batch_size = 4;
  auto split = FileData({entry}, options);
  EXPECT_EQ(split->size(), 2);
  const auto parts = ReadAll(*split);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(Shape(parts[1][0]), (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(At(parts[1][0], 0, 0), 4 * 16);
}

TEST(ContainerDataTest, ListIsOneBatchPerItem) {
  DataOptions options;
  options.batch_size = 1;  // a list is already batches: never split
  auto data = FileData({Data("container_list.pt") + ":inputs"}, options);
  EXPECT_EQ(data->size(), 2);
  const auto first = data->Next();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(Shape((*first)[0]), (std::vector<int64_t>{2, 16}));
  const auto second = data->Next();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(Shape((*second)[0]), (std::vector<int64_t>{3, 16}));
  EXPECT_EQ(At((*second)[0], 0, 0), 2 * 16);
  EXPECT_THAT(data->Describe(), HasSubstr("container_list.pt:inputs[1]: input 0"));
  EXPECT_FALSE(data->Next().has_value());
}

TEST(ContainerDataTest, ListOfTuplesIsMultiInputBatches) {
  auto data = FileData({Data("container_tuples.pt") + ":inputs"}, ForModel("multi_input.pt"));
  const auto batches = ReadAll(*data);
  ASSERT_EQ(batches.size(), 3u);
  for (size_t i = 0; i < batches.size(); ++i) {
    ASSERT_EQ(batches[i].size(), 2u);
    EXPECT_EQ(Shape(batches[i][0]), (std::vector<int64_t>{2, 8}));
    EXPECT_EQ(Shape(batches[i][1]), (std::vector<int64_t>{2, 6}));
    EXPECT_EQ(At(batches[i][0], 0, 0), static_cast<double>(i));
  }
}

TEST(ContainerDataTest, BadContainersAreErrors) {
  const std::string tensor = Data("container_tensor.pt");
  ExpectError([&] { FileData({tensor + ":nope"}); }, ErrorKind::kBadData,
              {tensor + ":nope", "no attribute 'nope' (it has: inputs)"});
  ExpectError([&] { FileData({Data("container_number.pt") + ":inputs"}); }, ErrorKind::kBadData,
              {"container_number.pt:inputs: the attribute is of type int", "expected a Tensor"});
  ExpectError([&] { FileData({tensor}); }, ErrorKind::kBadData,
              {tensor, "a TorchScript archive; name the attribute", ":ATTRIBUTE"});
  ExpectError([&] { FileData({Data("torch_save_tensor.pt") + ":inputs"}); }, ErrorKind::kBadData,
              {"torch.save archive"});
}

TEST(FileDataTest, TorchSaveFilesAreDetectedWithTheFix) {
  ExpectError([&] { FileData({Data("torch_save_tensor.pt")}); }, ErrorKind::kBadData,
              {Data("torch_save_tensor.pt"), "this is a torch.save archive",
               "cannot read torch.save files", "np.save(", "torch.jit.script(m).save("});
  ExpectError([&] { FileData({Data("torch_save_legacy_tensor.pt")}); }, ErrorKind::kBadData,
              {Data("torch_save_legacy_tensor.pt"), "torch.save pickle", "np.save("});
}

TEST(FileDataTest, MissingAndUnreadableEntries) {
  ExpectError([&] { FileData({Data("nope.npy")}); }, ErrorKind::kIo,
              {Data("nope.npy") + ": no such file or directory"});
  ExpectError([&] { FileData({Data("nope.pt") + ":inputs"}); }, ErrorKind::kIo,
              {Data("nope.pt") + ":inputs: no such file or directory"});
  ExpectError([&] { FileData({Data("not_data.txt")}); }, ErrorKind::kBadData,
              {Data("not_data.txt"), "not a .npy or .npz file"});
  DataOptions negative;
  negative.batch_size = -1;
  ExpectError([&] { FileData({Data("f32.npy")}, negative); }, ErrorKind::kInvalidArgument,
              {"batch size"});
}

TEST(FileDataTest, EntriesOfEveryKindRunInTheOrderGiven) {
  auto data = FileData({Data("container_list.pt") + ":inputs", Data("f64.npy"), Data("dir")});
  EXPECT_EQ(data->size(), 2 + 1 + 3);
  std::vector<int64_t> rows;
  while (auto batch = data->Next()) rows.push_back((*batch)[0].toTensor().size(0));
  EXPECT_EQ(rows, (std::vector<int64_t>{2, 3, 4, 1, 2, 3}));
}

TEST(SyntheticDataTest, DescribesEachBatch) {
  SyntheticOptions options;
  options.input_shapes = {{2, 3}, {4}};
  options.batches = 2;
  auto data = SyntheticData(options);
  EXPECT_EQ(ReadAll(*data).size(), 2u);
  auto again = SyntheticData(options);
  again->Next();
  EXPECT_EQ(again->Describe(), "synthetic batch 1: inputs 0 (float32 [2,3]), 1 (float32 [4])");
}

// forward(images: List[Tensor]), as torchvision's detection models take images: a batch
// [N, C, H, W] becomes the list of its N images, in order, whatever the data comes from.
TEST(ListArgumentTest, FileBatchBecomesTheListOfItsImages) {
  const DataOptions options = ForModel("image_list.pt");
  ASSERT_EQ(options.arguments.size(), 1u);
  EXPECT_EQ(options.arguments[0].type, "List[Tensor]");
  const at::Tensor stored = ReadAll({Data("image_batch.npy")})[0][0].toTensor();
  auto data = FileData({Data("image_batch.npy")}, options);
  const auto batch = data->Next();
  ASSERT_TRUE(batch.has_value());
  ASSERT_EQ(batch->size(), 1u);
  ASSERT_TRUE((*batch)[0].isTensorList());
  const c10::List<at::Tensor> images = (*batch)[0].toTensorList();
  ASSERT_EQ(images.size(), 5u);
  for (size_t i = 0; i < images.size(); ++i) {
    EXPECT_EQ(images.get(i).sizes().vec(), (std::vector<int64_t>{3, 8, 8}));
    EXPECT_TRUE(images.get(i).equal(stored[static_cast<int64_t>(i)])) << "image " << i;
  }
  EXPECT_EQ(data->Describe(),
            Data("image_batch.npy") + ": input 'images' (list of 5 float32 [3,8,8])");
  EXPECT_FALSE(data->Next().has_value());
}

TEST(ListArgumentTest, BatchSizeSplitsTheFileBeforeTheList) {
  DataOptions options = ForModel("image_list.pt");
  options.batch_size = 2;
  std::vector<size_t> sizes;
  for (const Batch& batch : ReadAll({Data("image_batch.npy")}, options)) {
    ASSERT_TRUE(batch[0].isTensorList());
    sizes.push_back(batch[0].toTensorList().size());
  }
  EXPECT_EQ(sizes, (std::vector<size_t>{2, 2, 1}));
}

TEST(ListArgumentTest, SyntheticShapeBecomesAListOfImages) {
  SyntheticOptions options;
  options.input_shapes = {{3, 3, 8, 8}};
  options.batches = 1;
  options.arguments = ForwardArguments(Model::Load(FixturePath("image_list.pt")).module());
  auto data = SyntheticData(options);
  const auto batch = data->Next();
  ASSERT_TRUE(batch.has_value());
  ASSERT_TRUE((*batch)[0].isTensorList());
  EXPECT_EQ((*batch)[0].toTensorList().size(), 3u);
  EXPECT_EQ(data->Describe(), "synthetic batch 1: input 0 (list of 3 float32 [3,8,8])");
}

TEST(ListArgumentTest, WithoutForwardsArgumentsTensorsStayTensors) {
  SyntheticOptions options;
  options.input_shapes = {{3, 3, 8, 8}};
  options.batches = 1;
  const auto batch = SyntheticData(options)->Next();
  ASSERT_TRUE(batch.has_value());
  EXPECT_TRUE((*batch)[0].isTensor());
}

TEST(ListArgumentTest, AScalarCannotBeSplitIntoImages) {
  const DataOptions options = ForModel("image_list.pt");
  ExpectError([&] { ReadAll({Data("scalar.npy")}, options); }, ErrorKind::kBadData,
              {Data("scalar.npy"), "input 'images' is a scalar (0-d)", "List[Tensor]",
               "split along dimension 0"});
}

}  // namespace
}  // namespace qreport::torchscript
