#pragma once
// Qt
#include <QObject>
#include <QString>

namespace camsight::model {

/// The single source of truth of one viewing session: the open study, overlays, masks, prompts and the undo
/// stack. Widgets read it and change it; they never run engines themselves.
class Session : public QObject {
    Q_OBJECT
public:
    explicit Session(QObject* parent = nullptr);

    bool hasStudy() const { return !m_studyTitle.isEmpty(); }
    /// Short human description of the open study ("" when none).
    QString studyTitle() const { return m_studyTitle; }

    /// Scans `path` for DICOM series and opens the first one; problems arrive through errorOccurred.
    void openDicomFolder(const QString& path);

signals:
    void studyChanged();
    /// A problem the user must see: which file or input, and what is wrong.
    void errorOccurred(const QString& message);

private:
    QString m_studyTitle;
};

}  // namespace camsight::model
