# SPDX-License-Identifier: Apache-2.0
# The exported ABI of libxsched.so against the committed list abi_symbols.txt.
#
# libxsched is built with -fvisibility=hidden; the installed headers open a
# `#pragma GCC visibility push(default)` block around their declarations, so
# exactly what they declare is exported: the xs_ API and the xs__ helpers
# inline code must reach. Three checks:
#  1. every exported symbol is in the xs_ namespace (toolchain symbols such
#     as _init or the sanitizers' __asan_* are left out);
#  2. no xs_ function or variable (single underscore: public by the naming
#     rule) is defined hidden in the library: that is a declaration outside
#     a header's visibility block, or a public name given to an internal;
#  3. the exported set equals abi_symbols.txt: an accidental export, or a
#     symbol lost, fails here.
# MODE=update rewrites abi_symbols.txt from the library instead (an intended
# change: `cmake --build <build> --target abi-symbols`, then commit the list).
# Arguments (-D): LIB ARCHIVE LIST NM READELF [MODE=check|update]
foreach(v LIB ARCHIVE LIST NM READELF)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "abi_symbols.cmake: -D${v}= missing")
  endif()
endforeach()
if(NOT DEFINED MODE)
  set(MODE check)
endif()
set(update_hint "If the change is intended, regenerate the list with\n"
    "  cmake --build <build-dir> --target abi-symbols\n"
    "and commit tests/queues/abi_symbols.txt (a removed or changed symbol also needs a "
    "SOVERSION bump: README, \"ABI\").")

execute_process(COMMAND ${NM} -D --defined-only --format=posix ${LIB}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D ${LIB} failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(exported "")
foreach(l IN LISTS lines)
  if(l MATCHES "^([^ ]+) ")
    set(name ${CMAKE_MATCH_1})
    # linker markers and sanitizer instrumentation, not ours
    if(name MATCHES "^(_init|_fini|_edata|_end|__bss_start)$" OR
       name MATCHES "^_*(asan|odr_asan|ubsan|tsan|sancov|lsan)")
      continue()
    endif()
    list(APPEND exported ${name})
  endif()
endforeach()
list(REMOVE_DUPLICATES exported)
list(SORT exported)
list(LENGTH exported nexp)
if(nexp EQUAL 0)
  message(FATAL_ERROR "${LIB} exports nothing")
endif()

if(MODE STREQUAL "update")
  string(REPLACE ";" "\n" text "${exported}")
  file(WRITE ${LIST} "${text}\n")
  message(STATUS "abi_symbols: wrote ${nexp} symbols to ${LIST}")
  return()
endif()

# 1. the namespace
set(bad "")
foreach(s IN LISTS exported)
  if(NOT s MATCHES "^xs_")
    list(APPEND bad ${s})
  endif()
endforeach()
if(bad)
  string(REPLACE ";" "\n  " bad "${bad}")
  message(FATAL_ERROR "libxsched.so exports symbols outside the xs_ namespace:\n  ${bad}\n"
          "Make them static, or declare them in a private header (hidden by default).")
endif()

# 2. public-looking names defined hidden (readelf: Num Value Size Type Bind Vis Ndx Name)
execute_process(COMMAND ${READELF} -sW ${ARCHIVE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -s ${ARCHIVE} failed (${rc}): ${err}")
endif()
string(REPLACE "\n" ";" lines "${out}")
set(hidden "")
foreach(l IN LISTS lines)
  if(l MATCHES " (FUNC|OBJECT) +GLOBAL +HIDDEN +[0-9]+ +(xs_[^_][^ ]*)$")
    list(APPEND hidden ${CMAKE_MATCH_2})
  endif()
endforeach()
if(hidden)
  list(REMOVE_DUPLICATES hidden)
  string(REPLACE ";" "\n  " hidden "${hidden}")
  message(FATAL_ERROR "xs_ symbols defined in libxsched but not exported:\n  ${hidden}\n"
          "A public function must be declared in an installed header between its "
          "`#pragma GCC visibility push(default)` and `pop`; an internal one is static or "
          "named xs__ in a private header.")
endif()

# 3. the committed list
if(NOT EXISTS ${LIST})
  message(FATAL_ERROR "${LIST} is missing.\n" ${update_hint})
endif()
file(STRINGS ${LIST} want)
list(FILTER want EXCLUDE REGEX "^(#.*|[ \t]*)$")
list(SORT want)
set(added ${exported})
list(REMOVE_ITEM added ${want})
set(removed ${want})
list(REMOVE_ITEM removed ${exported})
if(added OR removed)
  set(msg "libxsched.so's exported symbols differ from ${LIST}:\n")
  foreach(s IN LISTS added)
    string(APPEND msg "  + ${s}   (exported, not in the list)\n")
  endforeach()
  foreach(s IN LISTS removed)
    string(APPEND msg "  - ${s}   (in the list, not exported)\n")
  endforeach()
  message(FATAL_ERROR "${msg}" ${update_hint})
endif()
message(STATUS "abi_symbols: the ${nexp} exported symbols match ${LIST}")
