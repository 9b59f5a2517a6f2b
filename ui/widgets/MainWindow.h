#pragma once
// Qt
#include <QMainWindow>

class QAction;
class QProgressBar;
class QStackedWidget;

namespace camsight::model {
class Session;
}

namespace camsight::widgets {

class SliceView;

/// The application window: menus, toolbar and the central view of the Session.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(model::Session* session, QWidget* parent = nullptr);

    QAction* openDicomFolderAction() const { return m_openDicomFolder; }
    SliceView* sliceView() const { return m_view; }

public slots:
    void openDicomFolder(const QString& path);

private:
    void createActions();
    void createMenus();
    void chooseDicomFolder();
    void showAbout();
    void showError(const QString& message);
    void updateTitle();
    void showProgress(int done, int total);
    void showSeries();
    void showSkippedFiles(const QStringList& lines);

    model::Session* m_session;
    QStackedWidget* m_stack = nullptr;
    SliceView* m_view = nullptr;
    QProgressBar* m_progress = nullptr;
    QAction* m_openDicomFolder = nullptr;
    QAction* m_quit = nullptr;
    QAction* m_about = nullptr;
};

}  // namespace camsight::widgets
