# Finds the dependencies of DESIGN.md §5 and fails at configure time, naming the Debian
# package to install, when one is missing. HDF5 must be the MPI-parallel build.
# ScaLAPACK comes from pkg-config (Debian's CMake config for it points at wrong paths);
# NIfTI is found with find_library for the same reason (added with the stages that use it).

function(bmc_require_found found what package)
  if(NOT ${found})
    message(FATAL_ERROR "brainmclip: ${what} not found.\n"
      "  hint: install it with `apt-get install -y ${package}` (or run scripts/install-deps.sh)")
  endif()
endfunction()

find_package(MPI COMPONENTS C)
bmc_require_found(MPI_C_FOUND "MPI (C bindings)" "libopenmpi-dev openmpi-bin")

set(HDF5_PREFER_PARALLEL TRUE)
find_package(HDF5 COMPONENTS C)
bmc_require_found(HDF5_FOUND "HDF5" "libhdf5-openmpi-dev")
if(NOT HDF5_IS_PARALLEL)
  message(FATAL_ERROR "brainmclip: the HDF5 found (${HDF5_C_INCLUDE_DIRS}) is a serial build; "
    "brainmclip needs parallel HDF5 (MPI-IO).\n"
    "  hint: apt-get install -y libhdf5-openmpi-dev, and remove libhdf5-dev if it shadows it")
endif()
add_library(bmc_hdf5 INTERFACE)
target_include_directories(bmc_hdf5 INTERFACE ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(bmc_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(bmc_hdf5 INTERFACE ${HDF5_C_DEFINITIONS} H5_USE_110_API_DEFAULT=0)

find_package(PkgConfig)
bmc_require_found(PKG_CONFIG_FOUND "pkg-config" "pkg-config")
macro(bmc_pkg var module package)
  pkg_check_modules(${var} QUIET IMPORTED_TARGET ${module})
  bmc_require_found(${var}_FOUND "${module} (pkg-config)" "${package}")
endmacro()
bmc_pkg(SCALAPACK scalapack-openmpi libscalapack-openmpi-dev)
bmc_pkg(YAML yaml-0.1 libyaml-dev)
bmc_pkg(CRYPTO libcrypto libssl-dev)
bmc_pkg(OPENBLAS openblas libopenblas-dev)

find_program(BMC_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT BMC_PYTHON3)
  find_program(BMC_PYTHON3 NAMES python3)
endif()
bmc_pkg(CJSON libcjson libcjson-dev)
bmc_pkg(PNG libpng libpng-dev)
bmc_pkg(JPEG libjpeg libjpeg-dev)
bmc_pkg(MATIO matio libmatio-dev)
bmc_pkg(ZLIB zlib zlib1g-dev)
bmc_pkg(CAIRO cairo libcairo2-dev)
bmc_pkg(FONTCONFIG fontconfig libfontconfig-dev)

# NIfTI: Debian ships no .pc file and a broken CMake config; find the NIfTI-2 library and
# headers directly (never link libniftiio next to it: both export nifti_image_read).
find_path(NIFTI2_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIFTI2_LIBRARY nifti2)
find_library(ZNZ_LIBRARY znz)
if(NOT NIFTI2_INCLUDE_DIR OR NOT NIFTI2_LIBRARY OR NOT ZNZ_LIBRARY)
  set(_nifti_found FALSE)
else()
  set(_nifti_found TRUE)
endif()
bmc_require_found(_nifti_found "NIfTI-2 (nifti2_io.h, libnifti2, libznz)" "libnifti2-dev")
add_library(bmc_nifti INTERFACE)
target_include_directories(bmc_nifti INTERFACE ${NIFTI2_INCLUDE_DIR})
target_link_libraries(bmc_nifti INTERFACE ${NIFTI2_LIBRARY} ${ZNZ_LIBRARY} m)
