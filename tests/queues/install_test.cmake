# SPDX-License-Identifier: Apache-2.0
# Install the current build into a temporary prefix and use it from outside:
#  1. cmake --install <build> --prefix <work>/prefix; the expected files exist;
#  2. tests/queues/consumer configured with find_package(xsched), linked once
#     against xsched::xsched (shared) and once against xsched::xsched_static,
#     both run; the shared one must load libxsched.so from the prefix;
#  3. the same main.c compiled with `pkg-config --cflags --libs xsched`
#     (PKG_CONFIG_PATH = the prefix only) and run;
#  4. the installed programs (when built, TOOLS) run from the prefix with
#     LD_LIBRARY_PATH unset, and every installed ELF file carries the install
#     RUNPATH $ORIGIN/<bin-to-lib> (READELF).
# Arguments (-D): BUILD_DIR SRC_DIR WORK_DIR CC FLAGS LIBDIR INCLUDEDIR VERSION
#                 [BINDIR TOOLS READELF]
foreach(v BUILD_DIR SRC_DIR WORK_DIR CC LIBDIR INCLUDEDIR VERSION)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "install_test.cmake: -D${v}= missing")
  endif()
endforeach()
separate_arguments(flags UNIX_COMMAND "${FLAGS}")

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(run_out "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

# 1. install
run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f ${INCLUDEDIR}/xsched/common.h ${INCLUDEDIR}/xsched/shm.h ${INCLUDEDIR}/xsched/spsc.h
          ${INCLUDEDIR}/xsched/msg.h ${LIBDIR}/libxsched.a ${LIBDIR}/libxsched.so
          ${LIBDIR}/cmake/xsched/xschedConfig.cmake ${LIBDIR}/cmake/xsched/xschedConfigVersion.cmake
          ${LIBDIR}/cmake/xsched/xschedTargets.cmake ${LIBDIR}/pkgconfig/xsched.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "install tree lacks ${f}")
  endif()
endforeach()
file(GLOB soname ${prefix}/${LIBDIR}/libxsched.so.*)
if(NOT soname)
  message(FATAL_ERROR "install tree lacks the versioned libxsched.so.N")
endif()

# 2. find_package(xsched): shared and static
run("consumer configure" ${CMAKE_COMMAND} -S ${SRC_DIR} -B ${WORK_DIR}/cmake-build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_C_COMPILER=${CC} "-DCMAKE_C_FLAGS=${FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${FLAGS}" -DXS_EXPECT_PREFIX=${prefix}
    -DCMAKE_FIND_PACKAGE_NO_PACKAGE_REGISTRY=ON)
run("consumer build" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build -j 2)
run("consumer_shared" ${WORK_DIR}/cmake-build/consumer_shared)
message(STATUS "find_package, shared: ${run_out}")
string(FIND "${run_out}" "library: ${prefix}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "consumer_shared did not load libxsched.so from ${prefix}")
endif()
run("consumer_static" ${WORK_DIR}/cmake-build/consumer_static)
message(STATUS "find_package, static: ${run_out}")
if(NOT run_out MATCHES "library: static")
  message(FATAL_ERROR "consumer_static loaded a shared libxsched")
endif()

# 3. pkg-config
find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
set(pc_env ${CMAKE_COMMAND} -E env PKG_CONFIG_PATH=${prefix}/${LIBDIR}/pkgconfig)
run("pkg-config --modversion" ${pc_env} ${PKG_CONFIG} --modversion xsched)
string(STRIP "${run_out}" pc_version)
if(NOT pc_version STREQUAL VERSION)
  message(FATAL_ERROR "xsched.pc says version ${pc_version}, the project is ${VERSION}")
endif()
run("pkg-config --cflags --libs" ${pc_env} ${PKG_CONFIG} --cflags --libs xsched)
string(STRIP "${run_out}" pc_flags)
separate_arguments(pc_args UNIX_COMMAND "${pc_flags}")
run("pkg-config --variable=libdir" ${pc_env} ${PKG_CONFIG} --variable=libdir xsched)
string(STRIP "${run_out}" pc_libdir)
get_filename_component(pc_libdir_real ${pc_libdir} REALPATH)
get_filename_component(want_libdir_real ${prefix}/${LIBDIR} REALPATH)
if(NOT pc_libdir_real STREQUAL want_libdir_real)
  message(FATAL_ERROR "xsched.pc libdir ${pc_libdir} is not ${prefix}/${LIBDIR}")
endif()
run("cc with pkg-config" ${CC} -std=c11 -Wall -Wextra -Werror ${flags} ${SRC_DIR}/main.c
    ${pc_args} -Wl,-rpath,${pc_libdir_real} -o ${WORK_DIR}/pc_consumer)
run("pc_consumer" ${WORK_DIR}/pc_consumer)
message(STATUS "pkg-config (${pc_flags}): ${run_out}")
string(FIND "${run_out}" "library: ${want_libdir_real}/" at)
if(at EQUAL -1)
  message(FATAL_ERROR "pc_consumer did not load libxsched.so from ${want_libdir_real}")
endif()
# 4. installed programs
if(TOOLS)
  set(env_clean ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH)
  foreach(t xsched-topo xsched-doctor xsched-mockval xsched-sched)
    if(NOT EXISTS ${prefix}/${BINDIR}/${t})
      message(FATAL_ERROR "install tree lacks ${BINDIR}/${t}")
    endif()
    run("installed ${t} --version" ${env_clean} ${prefix}/${BINDIR}/${t} --version)
    if(NOT run_out MATCHES "^${t} ${VERSION}")
      message(FATAL_ERROR "installed ${t} --version printed '${run_out}'")
    endif()
  endforeach()
  run("installed xsched-topo" ${env_clean} ${prefix}/${BINDIR}/xsched-topo --workers 1
      --placement packed --use-housekeeping)
  if(NOT run_out MATCHES "# plan: tpu \\+ 1 worker")
    message(FATAL_ERROR "installed xsched-topo printed no plan:\n${run_out}")
  endif()
  message(STATUS "installed programs run without LD_LIBRARY_PATH")
endif()
if(READELF)
  file(RELATIVE_PATH bin_to_lib /${BINDIR} /${LIBDIR})
  file(GLOB elves ${prefix}/${BINDIR}/xsched-* ${prefix}/${LIBDIR}/libxsched.so.*)
  foreach(f IN LISTS elves)
    if(IS_SYMLINK ${f})
      continue()
    endif()
    run("readelf -d ${f}" ${READELF} -d ${f})
    if(NOT run_out MATCHES "R(UN)?PATH\\) +Library (run)?path: \\[\\$ORIGIN/${bin_to_lib}\\]")
      message(FATAL_ERROR "${f} lacks the install RUNPATH $ORIGIN/${bin_to_lib}:\n${run_out}")
    endif()
  endforeach()
  list(LENGTH elves nelves)
  message(STATUS "install RUNPATH $ORIGIN/${bin_to_lib} on the ${nelves} installed ELF files")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
