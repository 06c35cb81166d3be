// qreport._core: the torch-free core for the Python package. The pure-Python front-end in
// src/python/qreport/ finds the layers of an eager model, feeds activations in, and presents
// the results; nothing here knows about torch.
#include "bindings.h"
#include "qreport/version.h"

NB_MODULE(_core, m) {
  m.doc() = "qreport's C++ core: observers, detectors, findings and renderers";
  m.attr("__version__") = QREPORT_VERSION;
  qreport::python::BindErrors(m);
  qreport::python::BindModel(m);
  qreport::python::BindAnalysis(m);
  qreport::python::BindRender(m);
  qreport::python::BindIo(m);
}
