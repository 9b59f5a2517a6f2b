# Third-party packages. LibTorch is needed by every build; the rest only by the full application.

find_package(Torch REQUIRED)
# Torch's own flags (the C++ ABI switch) must reach every translation unit that shares types with it.
if(TORCH_CXX_FLAGS)
  separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  add_compile_options(${_torch_flags})
endif()
add_library(camsight_torch INTERFACE)
target_link_libraries(camsight_torch INTERFACE ${TORCH_LIBRARIES})
# Std: dl_iterate_phdr/dlsym to report the BLAS actually loaded.
target_link_libraries(camsight_torch INTERFACE ${CMAKE_DL_LIBS})
# at::parallel_for is header code: without the compiler's OpenMP its "#pragma omp parallel" is ignored and every loop
# written with it runs on one thread (LibTorch's own operators are unaffected).
find_package(OpenMP REQUIRED COMPONENTS CXX)
target_link_libraries(camsight_torch INTERFACE OpenMP::OpenMP_CXX)
message(STATUS "LibTorch: ${Torch_VERSION} (${Torch_DIR})")

if(NOT CAMSIGHT_ENGINE_ONLY)
  find_package(Qt6 REQUIRED COMPONENTS Core Gui Widgets OpenGL OpenGLWidgets Concurrent Test)
  set(CMAKE_AUTOMOC ON)
  set(CMAKE_AUTORCC ON)
  # Only VTK's core and rendering modules: Debian's VTK GUISupportQt is built for Qt 5 and must never be linked.
  find_package(VTK REQUIRED COMPONENTS CommonCore CommonDataModel RenderingCore RenderingOpenGL2 InteractionStyle ImagingCore)
  find_package(DCMTK REQUIRED)
  find_package(ITK REQUIRED COMPONENTS ITKCommon ITKIOImageBase ITKIONIFTI ITKIONRRD ITKIOMeta ITKIOPNG ITKIOJPEG ITKIOGDCM)
  message(STATUS "Qt: ${Qt6_VERSION}  VTK: ${VTK_VERSION}  DCMTK: ${DCMTK_VERSION}  ITK: ${ITK_VERSION}")
endif()

# zlib: CLIP's gzip vocabulary (core/text). Present wherever LibTorch is.
find_package(ZLIB REQUIRED)
