# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every folder of xsched.

set_property(GLOBAL PROPERTY XS_MODULES "")
set_property(GLOBAL PROPERTY XS_INCLUDE_DIRS "")

# xs_add_module(<name> SOURCES <c files> [DEPS <xs modules>] [LIBS <external libs>])
#
# Creates OBJECT library xs_<name>_obj and STATIC library xs_<name> (used by
# tests, benchmarks and tools inside the tree), with include/ of the calling
# folder as its public include directory.
function(xs_add_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;LIBS" ${ARGN})
  set(inc ${CMAKE_CURRENT_SOURCE_DIR}/include)
  add_library(xs_${name}_obj OBJECT ${M_SOURCES})
  # Hidden by default: libxsched.so exports only what the installed headers
  # declare inside their `#pragma GCC visibility push(default)` blocks (the
  # xs_ API and the xs__ helpers inline code calls); test_abi_symbols checks it.
  set_target_properties(xs_${name}_obj PROPERTIES C_VISIBILITY_PRESET hidden
                                                  CXX_VISIBILITY_PRESET hidden)
  target_include_directories(xs_${name}_obj PUBLIC $<BUILD_INTERFACE:${inc}>)
  foreach(dep IN LISTS M_DEPS)
    target_link_libraries(xs_${name}_obj PUBLIC xs_${dep}_obj)
  endforeach()
  target_link_libraries(xs_${name}_obj PUBLIC ${M_LIBS})

  add_library(xs_${name} STATIC $<TARGET_OBJECTS:xs_${name}_obj>)
  target_include_directories(xs_${name} PUBLIC $<BUILD_INTERFACE:${inc}>)
  foreach(dep IN LISTS M_DEPS)
    target_link_libraries(xs_${name} PUBLIC xs_${dep})
  endforeach()
  target_link_libraries(xs_${name} PUBLIC ${M_LIBS} Threads::Threads)

  set_property(GLOBAL APPEND PROPERTY XS_MODULES ${name})
  set_property(GLOBAL APPEND PROPERTY XS_INCLUDE_DIRS ${inc})
  install(DIRECTORY ${inc}/xsched DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# The installed library: libxsched.so and libxsched.a, the CMake package
# (find_package(xsched) gives xsched::xsched and xsched::xsched_static) and xsched.pc.
function(xs_finish_library)
  get_property(mods GLOBAL PROPERTY XS_MODULES)
  get_property(incs GLOBAL PROPERTY XS_INCLUDE_DIRS)
  set(objs "")
  foreach(m IN LISTS mods)
    list(APPEND objs $<TARGET_OBJECTS:xs_${m}_obj>)
  endforeach()
  set(bincs "")
  foreach(i IN LISTS incs)
    list(APPEND bincs $<BUILD_INTERFACE:${i}>)
  endforeach()

  add_library(xsched SHARED ${objs})
  add_library(xsched_static STATIC ${objs})
  set_target_properties(xsched_static PROPERTIES OUTPUT_NAME xsched)
  # SONAME policy (README "ABI"): before 1.0 every minor release may change
  # the ABI, so the SONAME carries major.minor (libxsched.so.0.1); from 1.0 on
  # it is the major version, raised with any incompatible change.
  if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(xs_soversion ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  else()
    set(xs_soversion ${PROJECT_VERSION_MAJOR})
  endif()
  set_target_properties(xsched PROPERTIES VERSION ${PROJECT_VERSION}
                                          SOVERSION ${xs_soversion})
  foreach(t xsched xsched_static)
    target_include_directories(${t} PUBLIC ${bincs} $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
    target_link_libraries(${t} PUBLIC Threads::Threads)
    target_link_libraries(${t} PRIVATE $<BUILD_INTERFACE:PkgConfig::URING> $<BUILD_INTERFACE:PkgConfig::HWLOC>)
  endforeach()
  # The static archive needs its dependencies at the consumer's link step.
  target_link_libraries(xsched_static INTERFACE $<INSTALL_INTERFACE:uring> $<INSTALL_INTERFACE:hwloc>)
  add_library(xsched::xsched ALIAS xsched)
  add_library(xsched::xsched_static ALIAS xsched_static)

  install(TARGETS xsched xsched_static EXPORT xschedTargets
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT xschedTargets NAMESPACE xsched::
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsched)
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/xschedConfig.cmake.in
          ${PROJECT_BINARY_DIR}/xschedConfig.cmake
          INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsched)
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/xschedConfigVersion.cmake
          COMPATIBILITY SameMinorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/xschedConfig.cmake
                ${PROJECT_BINARY_DIR}/xschedConfigVersion.cmake
          DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/xsched)
  # xsched.pc derives its prefix from its own location (${pcfiledir}), so it
  # stays right for `cmake --install --prefix <dir>`, DESTDIR and moved trees.
  set(XS_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
  if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    file(RELATIVE_PATH rel "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    string(REGEX REPLACE "/+$" "" rel "${rel}")
    set(XS_PC_PREFIX "\${pcfiledir}/${rel}")
  endif()
  foreach(d LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
      set(XS_PC_${d} "${CMAKE_INSTALL_${d}}")
    else()
      set(XS_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
    endif()
  endforeach()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/xsched.pc.in ${PROJECT_BINARY_DIR}/xsched.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/xsched.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endfunction()

# xs_add_test(<name> SOURCES <files> LABELS <part> [slow] [tsan]
#             [LIBS <targets>] [ARGS <args>] [TIMEOUT <s>])
#
# One executable per test, registered with CTest. LABELS must name the part
# (queues, alloc, handshake, runtime, bench, tools, hardening); add "slow" to
# long tests and "tsan" to concurrent tests that the TSan pass runs.
# Every test gets XS_VECTORS_DIR (../shared/vectors beside the checkout) and
# XS_SOURCE_DIR compiled in.
function(xs_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LABELS;LIBS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} xs_testlib)
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()
