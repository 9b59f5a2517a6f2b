#pragma once
// Qt
#include <QMainWindow>

class QAction;
class QStackedWidget;

namespace camsight::model {
class Session;
}

namespace camsight::widgets {

/// The application window: menus, toolbar and the central view of the Session.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(model::Session* session, QWidget* parent = nullptr);

    QAction* openDicomFolderAction() const { return m_openDicomFolder; }

public slots:
    void openDicomFolder(const QString& path);

private:
    void createActions();
    void createMenus();
    void chooseDicomFolder();
    void showAbout();
    void showError(const QString& message);
    void updateTitle();

    model::Session* m_session;
    QStackedWidget* m_stack = nullptr;
    QAction* m_openDicomFolder = nullptr;
    QAction* m_quit = nullptr;
    QAction* m_about = nullptr;
};

}  // namespace camsight::widgets
