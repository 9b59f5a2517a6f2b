#include "core/dicom/DicomLibrary.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

// Std
#include <mutex>

namespace camsight::dicom {

std::string dcmtkVersion() { return OFFIS_DCMTK_VERSION_STRING; }

void registerCodecs()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // CamSight reports what it cannot read itself, per file; DCMTK's own warnings on stderr would only be noise.
        OFLog::configure(OFLogger::OFF_LOG_LEVEL);
        DcmRLEDecoderRegistration::registerCodecs();
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
    });
}

}  // namespace camsight::dicom
