#include "ui/model/Session.h"

namespace camsight::model {

Session::Session(QObject* parent) : QObject(parent) {}

void Session::openDicomFolder(const QString& path)
{
    // The DICOM series reader (core/dicom) is not part of this build yet: say so instead of failing silently.
    emit errorOccurred(tr("%1: cannot open DICOM series yet — the series reader is not built into this version").arg(path));
}

}  // namespace camsight::model
