#include "core/dicom/DicomDir.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcsequen.h>

// Std
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <set>

namespace camsight::dicom {
namespace {

namespace fs = std::filesystem;

std::string upper(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    return s;
}

// `folder / name`, or the entry of `folder` whose name equals `name` without regard to case; empty if none.
fs::path child(const fs::path& folder, const std::string& name)
{
    std::error_code ec;
    if (fs::exists(folder / name, ec))
        return folder / name;
    const std::string want = upper(name);
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec))
        if (upper(it->path().filename().string()) == want)
            return it->path();
    return {};
}

}  // namespace

DicomDirFiles readDicomDir(const std::string& path)
{
    DicomDirFiles out;
    DcmFileFormat ff;
    const OFCondition st = ff.loadFile(path.c_str());
    if (st.bad()) {
        out.problems.push_back({path, std::string("unreadable DICOMDIR: ") + st.text()});
        return out;
    }
    DcmSequenceOfItems* records = nullptr;
    if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() || !records)
        return out;  // an empty file-set
    const fs::path root = fs::path(path).parent_path();
    std::set<std::string> seen;
    for (unsigned long i = 0; i < records->card(); ++i) {
        DcmItem* record = records->getItem(i);
        OFString id;
        if (!record || record->findAndGetOFStringArray(DCM_ReferencedFileID, id).bad() || id.empty())
            continue;  // PATIENT, STUDY, SERIES records reference no file
        std::string ref = id.c_str();
        fs::path resolved = root;
        std::size_t start = 0;
        while (!resolved.empty() && start <= ref.size()) {
            const std::size_t end = std::min(ref.find('\\', start), ref.size());
            const std::string part = ref.substr(start, end - start);
            if (part.empty() || part == "." || part == "..") {  // not a valid component: refuse to leave the file-set
                resolved.clear();
                break;
            }
            resolved = child(resolved, part);
            start = end + 1;
        }
        std::replace(ref.begin(), ref.end(), '\\', '/');
        if (resolved.empty()) {
            out.problems.push_back({path, "references " + ref + ", which is missing"});
            continue;
        }
        if (seen.insert(resolved.string()).second)
            out.files.push_back(resolved.string());
    }
    return out;
}

}  // namespace camsight::dicom
