#include "ui/model/Session.h"

// Local
#include "core/dicom/SeriesScan.h"

// Qt
#include <QFileInfo>
#include <QMetaObject>

// Std
#include <algorithm>
#include <cmath>
#include <exception>

namespace camsight::model {

namespace {

// The 0.5-99.5 % range of a series' values (a sample of up to ~1M voxels), as a window: robust against the air
// and metal outliers that a min-max window would be ruled by.
image::WindowLevel robustWindow(const dicom::LoadedSeries& s)
{
    const std::size_t n = s.dims.count();
    if (n == 0)
        return {};
    const std::size_t step = std::max<std::size_t>(1, n / 1000000);
    std::vector<double> v;
    v.reserve(n / step + 1);
    for (std::size_t i = 0; i < n; i += step)
        v.push_back(s.value(i));
    const auto at = [&](double q) {
        const std::size_t k = std::min(v.size() - 1, std::size_t(q * double(v.size() - 1)));
        std::nth_element(v.begin(), v.begin() + std::ptrdiff_t(k), v.end());
        return v[k];
    };
    const double lo = at(0.005), hi = at(0.995);
    return {(lo + hi) / 2.0, std::max(1.0, hi - lo), false};
}

}  // namespace

struct Session::Result {
    QString path;
    QString error;
    std::shared_ptr<dicom::LoadedSeries> series;
    QString title;
    QStringList others;
    QStringList skipped;
    bool cancelled = false;
};

Session::Session(QObject* parent) : QObject(parent) {}

Session::~Session() { stopWorker(); }

void Session::stopWorker()
{
    m_cancel = true;
    if (m_worker.joinable())
        m_worker.join();
    m_cancel = false;
}

void Session::cancelLoading() { m_cancel = true; }

void Session::openDicomFolder(const QString& path)
{
    stopWorker();
    const quint64 generation = ++m_generation;
    m_done = false;
    const std::string where = path.toStdString();
    m_worker = std::thread([this, generation, where] {
        auto r = std::make_shared<Result>();
        r->path = QString::fromStdString(where);
        try {
            dicom::ScanOptions so;
            so.cancel = &m_cancel;
            so.progress = [&](std::size_t done, std::size_t total) {
                QMetaObject::invokeMethod(this, [this, done, total] { emit loadProgress(int(done), int(2 * total)); },
                                          Qt::QueuedConnection);
            };
            const QFileInfo info(r->path);
            const dicom::ScanResult scan = info.isFile() ? dicom::scanFiles({where}, so) : dicom::scanFolder(where, so);
            if (scan.cancelled) {
                r->cancelled = true;
            } else if (scan.series.empty()) {
                r->error = tr("%1: no DICOM image series found (%2 files examined, %3 unreadable, %4 not images)")
                               .arg(r->path)
                               .arg(scan.filesExamined)
                               .arg(scan.errors.size())
                               .arg(scan.skipped.size() + scan.notDicom.size());
                if (!scan.errors.empty())
                    r->error += tr("; first problem: %1: %2")
                                    .arg(QString::fromStdString(scan.errors[0].path), QString::fromStdString(scan.errors[0].message));
            } else {
                const auto best = std::max_element(scan.series.begin(), scan.series.end(), [](const auto& a, const auto& b) {
                    return a.slices.size() < b.slices.size();
                });
                for (const auto& s : scan.series)
                    if (&s != &*best)
                        r->others << tr("%1 %2 (%3 slices)")
                                         .arg(QString::fromStdString(s.modality), QString::fromStdString(s.description))
                                         .arg(s.dims[2]);
                dicom::LoadOptions lo;
                lo.cancel = &m_cancel;
                const std::size_t files = best->slices.size();
                lo.progress = [&](std::size_t done, std::size_t) {
                    QMetaObject::invokeMethod(this, [this, done, files] { emit loadProgress(int(files + done), int(2 * files)); },
                                              Qt::QueuedConnection);
                };
                auto loaded = std::make_shared<dicom::LoadedSeries>(dicom::loadSeries(*best, lo));
                if (m_cancel) {
                    r->cancelled = true;
                } else {
                    for (const auto& e : loaded->errors)
                        r->skipped << QString::fromStdString(e.path + ": " + e.message);
                    r->title = tr("%1 %2 — %3")
                                   .arg(QString::fromStdString(best->modality), QString::fromStdString(best->description),
                                        QString::fromStdString(best->patientName).replace('^', ' '))
                                   .simplified();
                    r->series = std::move(loaded);
                }
            }
        } catch (const std::exception& e) {
            r->error = QString::fromStdString(e.what());
        }
        m_done = true;
        QMetaObject::invokeMethod(this, [this, generation, r] { finishLoading(generation, r); }, Qt::QueuedConnection);
    });
}

void Session::finishLoading(quint64 generation, const std::shared_ptr<Result>& r)
{
    if (generation != m_generation)
        return;  // a later open replaced this one
    if (m_worker.joinable())
        m_worker.join();
    if (r->cancelled)
        return;
    if (!r->error.isEmpty()) {
        emit errorOccurred(r->error);
        return;
    }
    m_series = r->series;
    m_studyTitle = r->title.isEmpty() ? r->path : r->title;
    m_otherSeries = r->others;
    m_defaultWindow = m_series->window ? *m_series->window : robustWindow(*m_series);
    m_defaultWindow.inverted = m_series->monochrome1;
    m_window = m_defaultWindow;
    m_slice = int(m_series->dims.z / 2);
    emit studyChanged();
    emit seriesLoaded();
    emit sliceChanged(m_slice);
    emit windowChanged();
    if (!r->skipped.isEmpty())
        emit filesSkipped(r->skipped);
}

void Session::setCurrentSlice(int z)
{
    if (!m_series)
        return;
    z = std::clamp(z, 0, sliceCount() - 1);
    if (z == m_slice)
        return;
    m_slice = z;
    emit sliceChanged(z);
}

void Session::setWindow(const image::WindowLevel& w)
{
    image::WindowLevel c = w;
    c.width = std::max(1.0, c.width);
    if (c.center == m_window.center && c.width == m_window.width && c.inverted == m_window.inverted)
        return;
    m_window = c;
    emit windowChanged();
}

}  // namespace camsight::model
