// Writing output files as the CLI does (qreport/core/io/output_file.h), so report.save() and
// the plots never replace /dev/null or a link, and a failure leaves no partial set.
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "qreport/core/io/output_file.h"

namespace qreport::python {

namespace nb = nanobind;

void BindIo(nb::module_& m) {
  m.def(
      "write_files_atomically",
      [](const std::vector<std::pair<std::string, std::string>>& files) {
        std::vector<FileContent> contents;
        for (const auto& [path, content] : files) contents.push_back({path, content});
        nb::gil_scoped_release release;
        WriteFilesAtomically(contents);
      },
      nb::arg("files"),
      "Writes [(path, text), ...] all or none: regular files are replaced atomically, "
      "character devices and FIFOs written through, links followed; anything else refused "
      "(QreportIOError).");
  m.def(
      "create_output_directory",
      [](const std::string& directory) {
        nb::gil_scoped_release release;
        CreateOutputDirectory(directory);
      },
      nb::arg("directory"), "Creates the directory and its parents if needed.");
  m.def(
      "check_can_write_directory",
      [](const std::string& directory) {
        nb::gil_scoped_release release;
        CheckCanWriteDirectory(directory);
      },
      nb::arg("directory"),
      "Raises QreportIOError unless the directory exists or could be created and takes new "
      "files; creates nothing.");
}

}  // namespace qreport::python
