# BmcLayout.cmake — the dependency rule of the tree, enforced at configure time:
#   common/ depends on nothing else in the repository; every stage (stages/<name>/) and the
#   workflow engine depend on common/ only; no stage links or includes another.
# bmc_add_common_library declares a library of common/ (the core or a shared engine);
# bmc_add_stage declares a stage: its library (everything but main.c, for the tests) and its
# executable. Both stop configuration with FATAL_ERROR on a violation: a linked target that is
# neither a common/ library nor an external dependency, or an #include "X" that resolves
# outside the component's own folder and the folders of the common/ libraries it links.
# Not here: finding the external dependencies (BmcDependencies.cmake).

define_property(GLOBAL PROPERTY BMC_COMMON_LIBRARIES
  BRIEF_DOCS "targets declared by bmc_add_common_library" FULL_DOCS "see cmake/BmcLayout.cmake")
define_property(GLOBAL PROPERTY BMC_EXTERNAL_TARGETS
  BRIEF_DOCS "interface targets wrapping external dependencies" FULL_DOCS "see cmake/BmcLayout.cmake")
define_property(TARGET PROPERTY BMC_HEADER_DIRS
  BRIEF_DOCS "folders whose headers a dependent may include" FULL_DOCS "see cmake/BmcLayout.cmake")
define_property(TARGET PROPERTY BMC_COMMON_DEPS
  BRIEF_DOCS "common/ libraries a common/ library links" FULL_DOCS "see cmake/BmcLayout.cmake")

# bmc_mark_external(targets...): interface targets that wrap a dependency from outside the
# repository (bmc_hdf5, bmc_nifti, ...), allowed in every LIBS list.
function(bmc_mark_external)
  set_property(GLOBAL APPEND PROPERTY BMC_EXTERNAL_TARGETS ${ARGN})
endfunction()

# _bmc_check_libs(WHO KIND LIBS...): every entry of LIBS is a common/ library, an imported or
# external target, a system library (m, dl, rt, pthread) or a linker flag. Sets ${out_var} to the common/ libraries
# in LIBS, with their own common/ dependencies added (transitively).
function(_bmc_check_libs who kind out_var)
  get_property(common GLOBAL PROPERTY BMC_COMMON_LIBRARIES)
  get_property(external GLOBAL PROPERTY BMC_EXTERNAL_TARGETS)
  set(found "")
  foreach(lib ${ARGN})
    if(lib IN_LIST common)
      list(APPEND found ${lib})
      get_target_property(deps ${lib} BMC_COMMON_DEPS)
      if(deps)
        list(APPEND found ${deps})
      endif()
    elseif(lib IN_LIST external)
    elseif(TARGET ${lib})
      get_target_property(imported ${lib} IMPORTED)
      if(NOT imported)
        message(FATAL_ERROR "brainmclip layout: ${kind} '${who}' links '${lib}', which is not "
          "a library of common/.\n  The rule: common/ depends on nothing in the repository, "
          "stages depend on common/ only, and no stage links another. Move the shared code "
          "into a library of common/ (see docs/ARCHITECTURE.md).")
      endif()
    elseif(NOT lib MATCHES "^(m|dl|rt|pthread)$" AND NOT lib MATCHES "^-")
      message(FATAL_ERROR "brainmclip layout: ${kind} '${who}' links '${lib}', which is "
        "not a known target (declare common/ libraries before what uses them; external "
        "dependencies come as imported targets or through bmc_mark_external).")
    endif()
  endforeach()
  list(REMOVE_DUPLICATES found)
  set(${out_var} "${found}" PARENT_SCOPE)
endfunction()

# _bmc_check_includes(WHO KIND DIRS SOURCES...): every `#include "X"` in SOURCES names a bare
# file (no folder part) found in one of DIRS (the component's own folder, the header folders of
# the common/ libraries it links, and generated headers).
function(_bmc_check_includes who kind dirs)
  foreach(src ${ARGN})
    if(NOT IS_ABSOLUTE "${src}")
      set(src "${CMAKE_CURRENT_SOURCE_DIR}/${src}")
    endif()
    file(STRINGS "${src}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line ${lines})
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" inc "${line}")
      if(inc MATCHES "/")
        message(FATAL_ERROR "brainmclip layout: ${src} includes \"${inc}\": includes name a "
          "bare header of the component itself or of a common/ library it links, never a path.")
      endif()
      set(ok FALSE)
      foreach(d ${dirs})
        if(EXISTS "${d}/${inc}")
          set(ok TRUE)
          break()
        endif()
      endforeach()
      if(NOT ok)
        message(FATAL_ERROR "brainmclip layout: ${kind} '${who}': ${src} includes \"${inc}\", "
          "which is neither in its own folder nor in a common/ library it links.\n  The rule: "
          "stages depend on common/ only and no stage includes another's headers; link the "
          "common/ library that owns it, or move the shared code into common/.")
      endif()
    endforeach()
  endforeach()
endfunction()

function(_bmc_header_dirs out_var)
  set(dirs "")
  foreach(lib ${ARGN})
    get_target_property(d ${lib} BMC_HEADER_DIRS)
    list(APPEND dirs ${d})
  endforeach()
  set(${out_var} "${dirs}" PARENT_SCOPE)
endfunction()

# bmc_add_common_library(NAME target SOURCES files... [PUBLIC_HEADERS dir] [LIBS targets...])
# A static library of common/. PUBLIC_HEADERS (default: the folder itself) is what dependents
# see; the folder itself stays private to the library. LIBS may name earlier common/ libraries
# and external targets only.
function(bmc_add_common_library)
  cmake_parse_arguments(L "" "NAME;PUBLIC_HEADERS" "SOURCES;LIBS" ${ARGN})
  if(NOT L_PUBLIC_HEADERS)
    set(L_PUBLIC_HEADERS ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  _bmc_check_libs(${L_NAME} "common library" deps ${L_LIBS})
  _bmc_header_dirs(dep_dirs ${deps})
  file(GLOB own_headers ${CMAKE_CURRENT_SOURCE_DIR}/*.h ${L_PUBLIC_HEADERS}/*.h)
  _bmc_check_includes(${L_NAME} "common library"
    "${CMAKE_CURRENT_SOURCE_DIR};${L_PUBLIC_HEADERS};${dep_dirs};${BMC_GENERATED_DIR}"
    ${L_SOURCES} ${own_headers})
  add_library(${L_NAME} STATIC ${L_SOURCES})
  target_include_directories(${L_NAME} PUBLIC ${L_PUBLIC_HEADERS} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${L_NAME} PUBLIC ${L_LIBS})
  set_target_properties(${L_NAME} PROPERTIES BMC_HEADER_DIRS "${L_PUBLIC_HEADERS}"
                        BMC_COMMON_DEPS "${deps}")
  set_property(GLOBAL APPEND PROPERTY BMC_COMMON_LIBRARIES ${L_NAME})
endfunction()

# bmc_add_stage(NAME name EXECUTABLE exe [MAIN main.c] SOURCES files... LIBS targets...)
# Stage `name` in the current folder: library bmc_stage_<name> (SOURCES, for the tests) and
# executable `exe` (MAIN + that library), installed to bin/. LIBS: common/ libraries and
# external targets only; anything else (another stage's library, a path) stops configuration.
function(bmc_add_stage)
  cmake_parse_arguments(S "" "NAME;EXECUTABLE;MAIN" "SOURCES;LIBS" ${ARGN})
  if(NOT S_MAIN)
    set(S_MAIN main.c)
  endif()
  foreach(src ${S_MAIN} ${S_SOURCES})
    get_filename_component(abs "${src}" ABSOLUTE)
    get_filename_component(dir "${abs}" DIRECTORY)
    if(NOT dir STREQUAL CMAKE_CURRENT_SOURCE_DIR)
      message(FATAL_ERROR "brainmclip layout: stage '${S_NAME}' compiles ${abs}, which is not "
        "in its own folder ${CMAKE_CURRENT_SOURCE_DIR}: a stage builds its own sources only.")
    endif()
  endforeach()
  _bmc_check_libs(${S_NAME} "stage" deps ${S_LIBS})
  _bmc_header_dirs(dep_dirs ${deps})
  file(GLOB own_headers ${CMAKE_CURRENT_SOURCE_DIR}/*.h)
  _bmc_check_includes(${S_NAME} "stage" "${CMAKE_CURRENT_SOURCE_DIR};${dep_dirs};${BMC_GENERATED_DIR}"
    ${S_MAIN} ${S_SOURCES} ${own_headers})
  set(lib bmc_stage_${S_NAME})
  add_library(${lib} STATIC ${S_SOURCES})
  target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${lib} PUBLIC ${S_LIBS})
  add_executable(${S_EXECUTABLE} ${S_MAIN})
  target_link_libraries(${S_EXECUTABLE} PRIVATE ${lib})
  # Every executable sits at the top of the build folder, where bmc-workflow looks first.
  set_target_properties(${S_EXECUTABLE} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  install(TARGETS ${S_EXECUTABLE} RUNTIME DESTINATION bin)
endfunction()
