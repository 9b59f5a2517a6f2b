#include "core/dicom/SeriesScan.h"

// Local
#include "core/dicom/DicomDir.h"
#include "core/dicom/DicomLibrary.h"
#include "core/dicom/ParallelFiles.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

// Std
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

namespace camsight::dicom {
namespace {

namespace fs = std::filesystem;

std::string str(DcmItem* ds, const DcmTagKey& tag)
{
    OFString v;
    if (ds->findAndGetOFStringArray(tag, v).good())
        return std::string(v.c_str());
    return {};
}

std::vector<double> numbers(DcmItem* ds, const DcmTagKey& tag)
{
    std::vector<double> out;
    Float64 v = 0;
    for (unsigned long i = 0; ds->findAndGetFloat64(tag, v, i).good(); ++i)
        out.push_back(v);
    return out;
}

// Enhanced multi-frame objects keep geometry in the shared functional groups.
std::vector<double> sharedGroupNumbers(DcmItem* ds, const DcmTagKey& sequence, const DcmTagKey& tag)
{
    DcmItem* shared = nullptr;
    DcmItem* item = nullptr;
    if (ds->findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).good() && shared &&
        shared->findAndGetSequenceItem(sequence, item, 0).good() && item)
        return numbers(item, tag);
    return {};
}

bool hasDicmPrefix(const std::string& path)
{
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f)
        return false;
    char buf[132] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf, f);
    std::fclose(f);
    return n == sizeof buf && std::string(buf + 128, 4) == "DICM";
}

struct HeaderResult {
    bool image = false;
    bool notDicom = false;
    bool dicomdir = false;
    std::string error;
    SeriesInfo series;
    SliceInfo slice;
};

HeaderResult readHeader(const std::string& path)
{
    HeaderResult r;
    DcmFileFormat ff;
    const OFCondition st = ff.loadFileUntilTag(path.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                               ERM_autoDetect, DCM_PixelData);
    if (st.bad()) {
        if (!hasDicmPrefix(path)) {
            r.notDicom = true;  // a README, a NIfTI, ...: not an error of the study
            return r;
        }
        const std::string why = st == EC_StreamNotifyClient ? "the file ends before its data set does (truncated)" : st.text();
        r.error = "unreadable DICOM: " + why;
        return r;
    }
    DcmDataset* ds = ff.getDataset();
    const std::string mediaClass = str(ff.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    if (mediaClass == UID_MediaStorageDirectoryStorage) {
        r.dicomdir = true;  // its referenced files are scanned as files
        return r;
    }
    Uint16 rows = 0, cols = 0;
    if (ds->findAndGetUint16(DCM_Rows, rows).bad() || ds->findAndGetUint16(DCM_Columns, cols).bad())
        return r;  // no image (SR, RTSTRUCT, waveform, ...)
    r.image = true;
    SeriesInfo& s = r.series;
    s.studyUid = str(ds, DCM_StudyInstanceUID);
    s.seriesUid = str(ds, DCM_SeriesInstanceUID);
    s.modality = str(ds, DCM_Modality);
    s.description = str(ds, DCM_SeriesDescription);
    s.patientName = str(ds, DCM_PatientName);
    s.patientId = str(ds, DCM_PatientID);
    s.studyDate = str(ds, DCM_StudyDate);
    s.seriesDate = str(ds, DCM_SeriesDate);
    s.seriesNumber = std::atoi(str(ds, DCM_SeriesNumber).c_str());
    SliceInfo& sl = r.slice;
    sl.path = path;
    sl.sopInstanceUid = str(ds, DCM_SOPInstanceUID);
    sl.instanceNumber = std::atoi(str(ds, DCM_InstanceNumber).c_str());
    sl.rows = rows;
    sl.columns = cols;
    const std::string frames = str(ds, DCM_NumberOfFrames);
    if (!frames.empty()) {
        char* end = nullptr;
        const long f = std::strtol(frames.c_str(), &end, 10);
        if (f < 1 || *end != '\0') {
            r.image = false;
            r.error = "NumberOfFrames is '" + frames + "', not a positive whole number";
            return r;
        }
        sl.frames = int(f);
    }
    auto pos = numbers(ds, DCM_ImagePositionPatient);
    auto ori = numbers(ds, DCM_ImageOrientationPatient);
    auto spacing = numbers(ds, DCM_PixelSpacing);
    if (pos.size() != 3)
        pos = sharedGroupNumbers(ds, DCM_PlanePositionSequence, DCM_ImagePositionPatient);
    if (ori.size() != 6)
        ori = sharedGroupNumbers(ds, DCM_PlaneOrientationSequence, DCM_ImageOrientationPatient);
    if (spacing.size() != 2)
        spacing = sharedGroupNumbers(ds, DCM_PixelMeasuresSequence, DCM_PixelSpacing);
    if (pos.size() == 3)
        sl.position = image::Vec3{pos[0], pos[1], pos[2]};
    if (ori.size() == 6)
        sl.orientation = std::array<double, 6>{ori[0], ori[1], ori[2], ori[3], ori[4], ori[5]};
    if (spacing.size() == 2 && spacing[0] > 0 && spacing[1] > 0)
        sl.pixelSpacing = {spacing[0], spacing[1]};
    const auto thick = numbers(ds, DCM_SliceThickness);
    sl.sliceThickness = thick.empty() ? 0 : thick[0];
    sl.transferSyntaxUid = str(ff.getMetaInfo(), DCM_TransferSyntaxUID);
    if (sl.transferSyntaxUid.empty())
        sl.transferSyntaxUid = DcmXfer(ds->getOriginalXfer()).getXferID();
    return r;
}

image::Vec3 cross(const image::Vec3& a, const image::Vec3& b)
{
    return {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]};
}

std::string mm(double v)
{
    std::ostringstream o;
    o.precision(4);
    o << v << " mm";
    return o.str();
}

// Key of a stack: image size and orientation (rounded so that rounding noise does not split a series).
std::string stackKey(const SliceInfo& s)
{
    std::ostringstream o;
    o << s.rows << "x" << s.columns;
    if (s.orientation)
        for (double v : *s.orientation)
            o << "|" << std::lround(v * 1e4);
    return o.str();
}

void finishStack(SeriesInfo& s)
{
    auto& sl = s.slices;
    const SliceInfo& first = sl.front();
    const bool haveGeometry = std::all_of(sl.begin(), sl.end(), [](const SliceInfo& x) { return x.position && x.orientation; });
    image::Vec3 row{1, 0, 0}, col{0, 1, 0};
    if (first.orientation) {
        const auto& o = *first.orientation;
        row = {o[0], o[1], o[2]};
        col = {o[3], o[4], o[5]};
    }
    const image::Vec3 normal = cross(row, col);
    if (haveGeometry) {
        for (auto& x : sl) {
            const auto& p = *x.position;
            x.normalPosition = p[0] * normal[0] + p[1] * normal[1] + p[2] * normal[2];
        }
        std::stable_sort(sl.begin(), sl.end(), [](const SliceInfo& a, const SliceInfo& b) { return a.normalPosition < b.normalPosition; });
    } else {
        std::stable_sort(sl.begin(), sl.end(), [](const SliceInfo& a, const SliceInfo& b) { return a.instanceNumber < b.instanceNumber; });
        if (sl.size() > 1)
            s.warnings.push_back("slices without position or orientation: ordered by InstanceNumber, spacing unknown");
    }
    std::size_t frames = 0;
    for (const auto& x : sl)
        frames += std::size_t(x.frames);
    s.dims = {std::size_t(first.columns), std::size_t(first.rows), frames};
    double spacingZ = first.sliceThickness > 0 ? first.sliceThickness : 1.0;
    if (haveGeometry && sl.size() > 1) {
        std::vector<double> d;
        for (std::size_t i = 1; i < sl.size(); ++i)
            d.push_back(sl[i].normalPosition - sl[i - 1].normalPosition);
        std::vector<double> sorted = d;
        std::sort(sorted.begin(), sorted.end());
        const double median = sorted[sorted.size() / 2];
        std::size_t duplicates = 0, gaps = 0;
        double worst = 0;
        for (double x : d) {
            if (std::fabs(x) < 1e-3)
                ++duplicates;
            else if (median > 0 && x > 1.5 * median)
                ++gaps;
            worst = std::max(worst, std::fabs(x - median));
        }
        if (duplicates)
            s.warnings.push_back(std::to_string(duplicates) + " duplicate slice position(s)");
        if (gaps)
            s.warnings.push_back(std::to_string(gaps) + " gap(s) larger than 1.5 x the usual spacing of " + mm(median));
        if (!duplicates && !gaps && worst > std::max(0.01, 0.01 * median))
            s.warnings.push_back("non-uniform slice spacing (up to " + mm(worst) + " from " + mm(median) + ")");
        if (median > 1e-3)
            spacingZ = median;
    }
    s.geometry.spacing = {first.pixelSpacing[1], first.pixelSpacing[0], spacingZ};
    if (haveGeometry)
        s.geometry.origin = *sl.front().position;
    for (int r = 0; r < 3; ++r) {
        s.geometry.direction[3 * r + 0] = row[r];
        s.geometry.direction[3 * r + 1] = col[r];
        s.geometry.direction[3 * r + 2] = normal[r];
    }
    if (!first.orientation)
        s.warnings.push_back("no ImageOrientationPatient: axial orientation assumed");
}

}  // namespace

std::vector<SeriesInfo> groupSeries(std::vector<std::pair<SeriesInfo, SliceInfo>> files)
{
    // Study + series, then stacks by size and orientation, in the order first seen.
    std::vector<SeriesInfo> out;
    std::map<std::string, std::vector<std::size_t>> byStackKey;  // study|series|stack -> index into out
    std::map<std::string, int> stacksPerSeries;
    for (auto& [series, slice] : files) {
        const std::string seriesKey = series.studyUid + "|" + series.seriesUid;
        const std::string key = seriesKey + "|" + stackKey(slice);
        auto it = byStackKey.find(key);
        if (it == byStackKey.end()) {
            series.stackIndex = stacksPerSeries[seriesKey]++;
            out.push_back(series);
            it = byStackKey.emplace(key, std::vector<std::size_t>{out.size() - 1}).first;
        }
        out[it->second.front()].slices.push_back(std::move(slice));
    }
    for (auto& s : out) {
        if (stacksPerSeries[s.studyUid + "|" + s.seriesUid] > 1 && s.stackIndex == 0)
            s.warnings.push_back("the series holds slices of several sizes or orientations: split into stacks");
        finishStack(s);
    }
    return out;
}

ScanResult scanFolder(const std::string& folder, const ScanOptions& options)
{
    registerCodecs();
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw std::runtime_error(folder + ": not a folder");
    std::vector<std::string> paths;
    for (fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end; it != end;
         it.increment(ec)) {
        if (ec)
            break;
        if (it->is_regular_file(ec))
            paths.push_back(it->path().string());
    }
    if (ec)
        throw std::runtime_error(folder + ": cannot list: " + ec.message());
    return scanFiles(paths, options);
}

ScanResult scanFiles(std::vector<std::string> paths, const ScanOptions& options)
{
    registerCodecs();
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    ScanResult result;
    std::vector<HeaderResult> headers(paths.size());
    forEachFile(0, paths.size(), options.threads, options.cancel,
                [&](std::size_t i) { headers[i] = readHeader(paths[i]); }, options.progress, 0, paths.size());
    // DICOMDIRs among them: the files they reference join the scan (once, however they were named or reached).
    // The canonical names are only needed then: a scan without a DICOMDIR does not touch the file system again.
    std::set<std::string> known;
    const std::size_t firstPass = paths.size();
    for (std::size_t i = 0; i < firstPass; ++i) {
        if (!headers[i].dicomdir)
            continue;
        if (known.empty())
            for (std::size_t j = 0; j < firstPass; ++j)
                known.insert(fs::weakly_canonical(paths[j]).string());
        result.dicomdirs.push_back(paths[i]);
        DicomDirFiles d = readDicomDir(paths[i]);
        result.errors.insert(result.errors.end(), d.problems.begin(), d.problems.end());
        for (auto& f : d.files)
            if (known.insert(fs::weakly_canonical(f).string()).second)
                paths.push_back(std::move(f));
    }
    headers.resize(paths.size());
    forEachFile(firstPass, paths.size(), options.threads, options.cancel,
                [&](std::size_t i) { headers[i] = readHeader(paths[i]); }, options.progress, firstPass, paths.size());
    result.filesExamined = paths.size();
    if (options.cancel && options.cancel->load()) {
        result.cancelled = true;
        return result;
    }
    std::vector<std::pair<SeriesInfo, SliceInfo>> images;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        if (headers[i].notDicom)
            result.notDicom.push_back(paths[i]);
        else if (!headers[i].error.empty())
            result.errors.push_back({paths[i], headers[i].error});
        else if (headers[i].image)
            images.emplace_back(std::move(headers[i].series), std::move(headers[i].slice));
        else
            result.skipped.push_back(paths[i]);
    }
    result.series = groupSeries(std::move(images));
    return result;
}

}  // namespace camsight::dicom
