#pragma once
// Local
#include "core/image/Geometry.h"

// Std
#include <array>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace camsight::dicom {

/// One image file (or one frame source) of a series, from its header.
struct SliceInfo {
    std::string path;
    std::string sopInstanceUid;
    int instanceNumber = 0;
    std::optional<image::Vec3> position;             ///< ImagePositionPatient (mm, LPS)
    std::optional<std::array<double, 6>> orientation; ///< ImageOrientationPatient: row then column cosines
    int rows = 0, columns = 0, frames = 1;
    std::array<double, 2> pixelSpacing{1.0, 1.0};    ///< between rows, between columns (mm), as DICOM orders it
    double sliceThickness = 0;
    std::string transferSyntaxUid;
    /// Distance along the slice normal (filled by grouping).
    double normalPosition = 0;
};

/// One stack of a series: slices of one size and orientation, sorted along the slice normal.
struct SeriesInfo {
    std::string studyUid, seriesUid, modality, description, patientName, patientId, studyDate, seriesDate;
    int seriesNumber = 0;
    int stackIndex = 0;  ///< > 0 when the series was split into several stacks (size or orientation differs)
    std::vector<SliceInfo> slices;
    std::array<std::size_t, 3> dims{0, 0, 0};  ///< columns, rows, slices
    image::Geometry geometry;                   ///< origin of the first slice, spacing, direction cosines
    std::vector<std::string> warnings;          ///< non-uniform spacing, gaps, duplicate positions, missing geometry
};

struct FileError {
    std::string path;
    std::string message;
};

struct ScanResult {
    std::vector<SeriesInfo> series;
    std::vector<FileError> errors;      ///< files that are DICOM-like but unreadable
    std::vector<std::string> skipped;   ///< readable files that hold no image (DICOMDIR, SR, RTSTRUCT, waveforms)
    std::vector<std::string> notDicom;  ///< files that are not DICOM at all (no DICM prefix, no readable data set)
    std::vector<std::string> dicomdirs; ///< DICOMDIR files met (also listed in skipped); their references were scanned
    std::size_t filesExamined = 0;
    bool cancelled = false;
};

struct ScanOptions {
    /// Called with (files done, files total) from the scanning threads; may be empty.
    std::function<void(std::size_t, std::size_t)> progress;
    /// Set to true (from any thread) to stop early; the result then says cancelled.
    const std::atomic<bool>* cancel = nullptr;
    int threads = 0;  ///< 0: all hardware threads
};

/// Reads the headers of every file below `folder` (recursively; the files a DICOMDIR references are added, so a
/// file-set's files are found wherever they sit and a missing one is reported) in
/// parallel with DCMTK, groups image files by study and series UID, splits a series whose slices differ in size or
/// orientation into stacks, sorts each stack along its slice normal (never by file name), computes spacing from the
/// positions and flags non-uniform spacing, gaps and duplicate positions. Throws std::runtime_error when `folder`
/// cannot be listed.
ScanResult scanFolder(const std::string& folder, const ScanOptions& options = {});

/// The same for a list of files (e.g. what the user selected, or one DICOMDIR: its referenced files are scanned).
ScanResult scanFiles(std::vector<std::string> paths, const ScanOptions& options = {});

/// Groups already-read slices (the part of scanFolder after reading headers); exposed for tests.
std::vector<SeriesInfo> groupSeries(std::vector<std::pair<SeriesInfo, SliceInfo>> files);

}  // namespace camsight::dicom
