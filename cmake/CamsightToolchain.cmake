# Compiler launcher, warnings and sanitizers shared by every target.

find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${CCACHE_PROGRAM}")
  message(STATUS "ccache: ${CCACHE_PROGRAM}")
endif()

add_library(camsight_warnings INTERFACE)
target_compile_options(camsight_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-unused-parameter)
if(CAMSIGHT_WERROR)
  target_compile_options(camsight_warnings INTERFACE -Werror)
endif()

if(CAMSIGHT_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_compile_options(${_san})
  add_link_options(${_san})
endif()
