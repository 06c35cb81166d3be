// The parts of qreport._core, each registered by its own function (module.cpp calls them).
#ifndef QREPORT_PYTHON_BINDINGS_H_
#define QREPORT_PYTHON_BINDINGS_H_

#include <nanobind/nanobind.h>

namespace qreport::python {

void BindErrors(nanobind::module_& m);    // qreport::Error -> qreport.QreportError and kin
void BindModel(nanobind::module_& m);     // layers, leaf modules, the model description
void BindAnalysis(nanobind::module_& m);  // detectors, the observer bank, reports
void BindRender(nanobind::module_& m);
void BindIo(nanobind::module_& m);  // output files written as the CLI writes them    // the
                                    // visualizer and report.html from saved JSON

}  // namespace qreport::python

#endif  // QREPORT_PYTHON_BINDINGS_H_
