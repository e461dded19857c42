// compat.hpp - the one place that knows which c10d API this torch offers.
//
// torch 1.13: a backend is a c10d::ProcessGroup subclass and the creator
// returns it. torch 2.x: a backend is a c10d::Backend (ProcessGroup became a
// dispatcher holding one Backend per device type) and register_backend takes
// devices=["cpu"]. Both base classes declare the same collective virtuals, so
// the backend code is written once against AcclBackendBase.
// Build with -DACCL_TORCH_BACKEND_API=1 to force the 2.x shape (1.13 already
// ships Backend.hpp, so the switch compiles here too).
#pragma once

#include <torch/version.h>

#ifndef ACCL_TORCH_BACKEND_API
#if TORCH_VERSION_MAJOR >= 2
#define ACCL_TORCH_BACKEND_API 1
#else
#define ACCL_TORCH_BACKEND_API 0
#endif
#endif

#if ACCL_TORCH_BACKEND_API
#include <torch/csrc/distributed/c10d/Backend.hpp>
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#endif
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

namespace accl_torch {

#if ACCL_TORCH_BACKEND_API
using AcclBackendBase = c10d::Backend;
#else
using AcclBackendBase = c10d::ProcessGroup;
#endif

}  // namespace accl_torch
