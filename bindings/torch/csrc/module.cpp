// module.cpp - the Python extension acc_ccl_torch._C: the process-group
// class (a subclass of torch's ProcessGroup, or Backend on torch 2.x) and the
// creator that torch.distributed calls with (store, rank, size, timeout).
#include <pybind11/chrono.h>
#include <torch/python.h>

#include "process_group.hpp"

namespace py = pybind11;

namespace {

c10::intrusive_ptr<accl_torch::ProcessGroupAccl> createProcessGroup(const c10::intrusive_ptr<c10d::Store>& store,
                                                                    int rank, int size,
                                                                    std::chrono::milliseconds timeout) {
  return c10::make_intrusive<accl_torch::ProcessGroupAccl>(store, rank, size, timeout);
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.doc() = "acc-ccl collectives as a torch.distributed backend";
  // The base class must be known to pybind11 before we derive from it.
  py::module::import("torch.distributed");
  py::class_<accl_torch::ProcessGroupAccl, accl_torch::AcclBackendBase,
             c10::intrusive_ptr<accl_torch::ProcessGroupAccl>>(m, "ProcessGroupAccl")
      .def_property_readonly("device", &accl_torch::ProcessGroupAccl::device,
                             "index of the simulated accelerator this process uses");
  m.def("create_process_group", &createProcessGroup, py::arg("store"), py::arg("rank"), py::arg("size"),
        py::arg("timeout"), py::call_guard<py::gil_scoped_release>(),
        "Creates the acc-ccl process group of this rank (collective over the group).");
  m.attr("BACKEND_API") = py::int_(ACCL_TORCH_BACKEND_API);
  int version = 0;
  acclGetVersion(&version);
  m.attr("ACCL_VERSION_CODE") = py::int_(version);
}
