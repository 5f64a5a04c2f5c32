# Find the ns-3 that the `ns3` PyPI wheel installed, and repair its CMake package.
#
# The wheel ships ns-3's own CMake package (lib64/cmake/ns3/ns3Config.cmake)
# with imported targets ns3::core, ns3::network, ...  Two things in it point
# at the machine that built the wheel, not at the wheel:
#
#   1. INTERFACE_INCLUDE_DIRECTORIES lists that machine's glib, gtk, libxml2
#      and Python include directories next to the wheel's include/.  Those
#      may not exist here (or, worse, hold other versions of the same
#      headers).  The wheel's include/ has everything ns-3 needs, boost/
#      included, so each target's include directories are set to exactly it.
#   2. INTERFACE_LINK_LIBRARIES lists that machine's system libraries
#      (/usr/lib64/libgsl.so, /lib64/libsqlite3.so, /usr/lib64/libxml2.so)
#      and bare names of optional components (brite.so, click.so, nsclick,
#      openflow.so) that are not in the wheel.  The wheel's .so files find
#      their bundled copies (libgsl-<hash>.so, ...) through their $ORIGIN
#      RPATH, so every item that is not another ns3:: target, a linker flag,
#      or an existing file is dropped.
#
# The exported compile definitions are kept as they are: they must match the
# libraries (NS3_LOG_ENABLE changes class layouts, HAVE_BOOST_UNITS adds API
# to ns3::Length):
#   PROJECT_SOURCE_PATH="/gcl-builds" __LINUX__ NS3_BUILD_PROFILE_RELEASE
#   HAVE_SQLITE3 HAVE_LIBXML2 HAVE_GSL NS3_LOG_ENABLE NS3_ASSERT_ENABLE
#   (+ HAVE_BOOST HAVE_BOOST_UNITS on ns3::core)
#
# Where the wheel is: the cache variable NS3_WHEEL_PREFIX (the directory that
# holds include/ and lib64/), else asked from Python (CPPSNS3_PYTHON, else the
# first python3 on PATH) through importlib.metadata, the way the package's
# loader finds it.
#
# Defines: ns3::* imported targets (repaired), NS3_WHEEL_PREFIX,
# NS3_WHEEL_VERSION (the wheel's distribution version, e.g. 3.44.post0).

include_guard(GLOBAL)

set(NS3_WHEEL_PREFIX "" CACHE PATH "Directory of the ns3 wheel (holds include/ and lib64/); empty: ask Python")
set(CPPSNS3_PYTHON "" CACHE FILEPATH "Python interpreter whose ns3 wheel to build against; empty: python3 on PATH")

function(_cppsns3_python_exe out)
  if(CPPSNS3_PYTHON)
    set(${out} "${CPPSNS3_PYTHON}" PARENT_SCOPE)
    return()
  endif()
  find_program(_py NAMES python3 python)
  if(NOT _py)
    message(FATAL_ERROR "cppsns3: no python3 on PATH to locate the ns3 wheel; "
                        "set -DCPPSNS3_PYTHON=... or -DNS3_WHEEL_PREFIX=...")
  endif()
  set(${out} "${_py}" PARENT_SCOPE)
endfunction()

_cppsns3_python_exe(_cppsns3_py)
set(_cppsns3_query [=[
import importlib.metadata as m
d = m.distribution('ns3')
print(d.locate_file('ns3'))
print(d.version)
]=])
execute_process(
  COMMAND "${_cppsns3_py}" -c "${_cppsns3_query}"
  OUTPUT_VARIABLE _cppsns3_out
  ERROR_VARIABLE _cppsns3_err
  RESULT_VARIABLE _cppsns3_rc
  OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT _cppsns3_rc EQUAL 0 AND NOT NS3_WHEEL_PREFIX)
  message(FATAL_ERROR "cppsns3: ${_cppsns3_py} cannot find the ns3 wheel "
                      "(pip install ns3==3.44.post0): ${_cppsns3_err}")
endif()
if(_cppsns3_rc EQUAL 0)
  string(REPLACE "\n" ";" _cppsns3_lines "${_cppsns3_out}")
  list(GET _cppsns3_lines 0 _cppsns3_prefix)
  list(GET _cppsns3_lines 1 NS3_WHEEL_VERSION)
else()
  set(NS3_WHEEL_VERSION "unknown")
endif()
# A prefix given by the user wins; else Python's answer, asked at every
# configure (a normal variable, so switching interpreters takes effect).
if(NOT NS3_WHEEL_PREFIX)
  get_filename_component(NS3_WHEEL_PREFIX "${_cppsns3_prefix}" REALPATH)
endif()

if(NOT EXISTS "${NS3_WHEEL_PREFIX}/lib64/cmake/ns3/ns3Config.cmake")
  message(FATAL_ERROR "cppsns3: ${NS3_WHEEL_PREFIX} holds no lib64/cmake/ns3/ns3Config.cmake")
endif()
message(STATUS "cppsns3: ns3 wheel ${NS3_WHEEL_VERSION} at ${NS3_WHEEL_PREFIX}")

# Forced, so a changed prefix is not shadowed by an older cached ns3_DIR.
set(ns3_DIR "${NS3_WHEEL_PREFIX}/lib64/cmake/ns3" CACHE PATH "The ns3 wheel's CMake package" FORCE)
find_package(ns3 CONFIG REQUIRED)

# Repair every imported ns3:: target (see the header of this file).
function(cppsns3_repair_ns3_targets)
  set(_include "${NS3_WHEEL_PREFIX}/include")
  get_property(_all DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  set(_dropped "")
  set(_n 0)
  foreach(_t IN LISTS _all)
    if(NOT _t MATCHES "^ns3::")
      continue()
    endif()
    math(EXPR _n "${_n} + 1")
    set_target_properties(${_t} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_include}")
    get_target_property(_libs ${_t} INTERFACE_LINK_LIBRARIES)
    if(NOT _libs)
      continue()
    endif()
    set(_keep "")
    foreach(_item IN LISTS _libs)
      if(_item MATCHES "^ns3::" OR _item MATCHES "^-" OR EXISTS "${_item}")
        list(APPEND _keep "${_item}")
      else()
        list(APPEND _dropped "${_item}")
      endif()
    endforeach()
    set_target_properties(${_t} PROPERTIES INTERFACE_LINK_LIBRARIES "${_keep}")
  endforeach()
  list(REMOVE_DUPLICATES _dropped)
  string(REPLACE ";" " " _dropped_text "${_dropped}")
  message(STATUS "cppsns3: repaired ${_n} ns3:: targets (include dir -> wheel's include/; "
                 "dropped link items not in the wheel: ${_dropped_text})")
endfunction()

cppsns3_repair_ns3_targets()
