#pragma once
// Local
#include "core/dicom/SeriesLoad.h"
#include "core/image/WindowLevel.h"

// Qt
#include <QObject>
#include <QString>
#include <QStringList>

// Std
#include <atomic>
#include <memory>
#include <thread>

namespace camsight::model {

/// The single source of truth of one viewing session: the open study, overlays, masks, prompts and the undo
/// stack. Widgets read it and change it; they never run engines themselves.
class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr);
    ~Session() override;

    bool hasStudy() const { return m_series != nullptr; }
    /// Short human description of the open study ("" when none).
    QString studyTitle() const { return m_studyTitle; }

    /// Scans `path` (a folder, or a DICOMDIR) for DICOM series on a worker thread and opens the series with the most
    /// slices; progress arrives through loadProgress, the result through seriesLoaded, problems through
    /// errorOccurred (unreadable files of a series that otherwise loads through filesSkipped). A second call
    /// cancels the first.
    void openDicomFolder(const QString& path);
    /// Stops a scan or load under way; what is open stays open.
    void cancelLoading();
    bool isLoading() const { return m_worker.joinable() && !m_done; }

    /// The open series (shared, immutable), or null.
    std::shared_ptr<const dicom::LoadedSeries> series() const { return m_series; }
    /// Other series found beside the open one ("description (N slices)"), for the user to know what else is there.
    QStringList otherSeries() const { return m_otherSeries; }

    int sliceCount() const { return m_series ? int(m_series->dims.z) : 0; }
    int currentSlice() const { return m_slice; }
    /// Clamped to the series; emits sliceChanged when it changes.
    void setCurrentSlice(int z);

    image::WindowLevel window() const { return m_window; }
    void setWindow(const image::WindowLevel& w);
    /// The window the series came with (its first stored window, else the 0.5-99.5 % range of its values).
    image::WindowLevel defaultWindow() const { return m_defaultWindow; }

signals:
    void studyChanged();
    void loadProgress(int done, int total);
    void seriesLoaded();
    void sliceChanged(int z);
    void windowChanged();
    /// Files of the open series that could not be read, one line each ("file: reason").
    void filesSkipped(const QStringList& lines);
    /// A problem the user must see: which file or input, and what is wrong.
    void errorOccurred(const QString& message);

private:
    struct Result;
    void finishLoading(quint64 generation, const std::shared_ptr<Result>& result);
    void stopWorker();

    std::shared_ptr<const dicom::LoadedSeries> m_series;
    QString m_studyTitle;
    QStringList m_otherSeries;
    int m_slice = 0;
    image::WindowLevel m_window, m_defaultWindow;
    std::thread m_worker;
    std::atomic<bool> m_cancel{false};
    std::atomic<bool> m_done{true};
    quint64 m_generation = 0;
};

}  // namespace camsight::model
