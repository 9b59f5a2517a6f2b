#pragma once
// Private to core/dicom: the files a DICOMDIR (PS3.10 file-set directory) references.

// Local
#include "core/dicom/SeriesScan.h"

// Std
#include <string>
#include <vector>

namespace camsight::dicom {

struct DicomDirFiles {
    std::vector<std::string> files;   ///< referenced files that exist, resolved against the DICOMDIR's folder
    std::vector<FileError> problems;  ///< referenced files that do not exist, or why the directory could not be read
};

/// Walks every directory record of the DICOMDIR at `path` (in file order; the record offsets are not needed) and
/// resolves each Referenced File ID (components joined below the DICOMDIR's folder, matched without regard to case
/// when the exact name is absent, as on file-sets written by ISO 9660 media).
DicomDirFiles readDicomDir(const std::string& path);

}  // namespace camsight::dicom
