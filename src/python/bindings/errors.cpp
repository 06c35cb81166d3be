// qreport::Error becomes a Python exception of its kind, so callers can catch what they can
// act on: `except qreport.BadDataError` for a batch the model rejects, or `except ValueError`
// as for any bad argument. Every class derives from qreport.QreportError.
#include "bindings.h"
#include "qreport/core/error.h"

namespace qreport::python {
namespace {

namespace nb = nanobind;

struct ExceptionTypes {
  PyObject* base = nullptr;
  PyObject* invalid_argument = nullptr;
  PyObject* io = nullptr;
  PyObject* bad_model = nullptr;
  PyObject* bad_data = nullptr;
  PyObject* internal = nullptr;
};

PyObject* NewException(nb::module_& m, const char* name, PyObject* bases, const char* doc) {
  // Named as qreport exports them (qreport.BadDataError), which is what tracebacks show.
  const std::string qualified = std::string("qreport.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (type == nullptr) throw nb::python_error();
  m.attr(name) = nb::handle(type);
  return type;
}

PyObject* Bases(std::initializer_list<PyObject*> bases) {
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(bases.size()));
  Py_ssize_t i = 0;
  for (PyObject* base : bases) {
    Py_INCREF(base);
    PyTuple_SetItem(tuple, i++, base);
  }
  return tuple;
}

}  // namespace

void BindErrors(nb::module_& m) {
  // Made once when the module is imported and handed to the translator as its payload; the
  // types live as long as the interpreter.
  auto* made = new ExceptionTypes;
  ExceptionTypes& types = *made;
  types.base = NewException(m, "QreportError", PyExc_Exception,
                            "Base of every error qreport raises for bad input.");
  types.invalid_argument =
      NewException(m, "InvalidArgumentError", Bases({types.base, PyExc_ValueError}),
                   "A bad option, name or value.");
  types.io = NewException(m, "QreportIOError", Bases({types.base, PyExc_OSError}),
                          "A file that cannot be found, read or written.");
  types.bad_model = NewException(m, "BadModelError", Bases({types.base, PyExc_ValueError}),
                                 "A model qreport cannot analyse.");
  types.bad_data = NewException(m, "BadDataError", Bases({types.base, PyExc_ValueError}),
                                "Calibration data that does not fit the model.");
  types.internal = NewException(m, "InternalError", Bases({types.base, PyExc_RuntimeError}),
                                "A broken invariant inside qreport (a bug: please report it).");
  nb::register_exception_translator(
      [](const std::exception_ptr& p, void* payload) {
        const ExceptionTypes& types = *static_cast<const ExceptionTypes*>(payload);
        try {
          std::rethrow_exception(p);
        } catch (const Error& e) {
          PyObject* type = types.internal;
          switch (e.kind()) {
            case ErrorKind::kInvalidArgument:
              type = types.invalid_argument;
              break;
            case ErrorKind::kIo:
              type = types.io;
              break;
            case ErrorKind::kBadModel:
              type = types.bad_model;
              break;
            case ErrorKind::kBadData:
              type = types.bad_data;
              break;
            case ErrorKind::kInternal:
              break;
          }
          PyErr_SetString(type, e.what());
        }
      },
      made);
}

}  // namespace qreport::python
