"""Print the compiler flags that torch.utils.cpp_extension would use, for the
Makefile rule that builds acc_ccl_torch._C (one object per source, so make
can rebuild only what changed and run two compilers at once).

usage: torch_flags.py --cxxflags | --ldflags | --libs | --ext-suffix
(configure runs --cxxflags and --libs to check the prerequisites; --ldflags
is --libs plus -shared)
"""
import sys
import sysconfig

import torch
from torch.utils import cpp_extension


def cxxflags():
    inc = cpp_extension.include_paths() + [sysconfig.get_paths()["include"]]
    abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
    flags = ["-isystem " + p for p in inc]
    flags += ["-std=c++17", "-fPIC", "-fvisibility=hidden",
              "-D_GLIBCXX_USE_CXX11_ABI=%d" % abi,
              "-DTORCH_API_INCLUDE_EXTENSION_H", "-DTORCH_EXTENSION_NAME=_C"]
    return " ".join(flags)


def libs():
    libdir = cpp_extension.library_paths()[0]
    return " ".join(["-L" + libdir, "-Wl,-rpath," + libdir,
                     "-lc10", "-ltorch", "-ltorch_cpu", "-ltorch_python"])


def ldflags():
    return "-shared " + libs()


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "--cxxflags":
        print(cxxflags())
    elif what == "--ldflags":
        print(ldflags())
    elif what == "--libs":
        print(libs())
    elif what == "--ext-suffix":
        print(sysconfig.get_config_var("EXT_SUFFIX"))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
