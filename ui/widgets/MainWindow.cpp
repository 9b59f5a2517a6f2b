#include "ui/widgets/MainWindow.h"

// Local
#include "ui/model/Session.h"
#include "ui/widgets/EmptyStateWidget.h"
#include "ui/widgets/SliceView.h"

// Qt
#include <QAction>
#include <QApplication>
#include <QFileDialog>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QStackedWidget>
#include <QStatusBar>
#include <QToolBar>

namespace camsight::widgets {

MainWindow::MainWindow(model::Session* session, QWidget* parent) : QMainWindow(parent), m_session(session)
{
    setObjectName("mainWindow");
    setWindowIcon(QIcon(":/icons/camsight.svg"));
    createActions();
    createMenus();

    m_stack = new QStackedWidget(this);
    m_stack->addWidget(new EmptyStateWidget(m_openDicomFolder, m_stack));
    m_view = new SliceView(m_session, m_stack);
    m_stack->addWidget(m_view);
    setCentralWidget(m_stack);
    m_progress = new QProgressBar(this);
    m_progress->setObjectName("loadProgress");
    m_progress->setMaximumWidth(220);
    m_progress->setVisible(false);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->showMessage(tr("Ready"));

    connect(m_session, &model::Session::errorOccurred, this, &MainWindow::showError);
    connect(m_session, &model::Session::loadProgress, this, &MainWindow::showProgress);
    connect(m_session, &model::Session::seriesLoaded, this, &MainWindow::showSeries);
    connect(m_session, &model::Session::filesSkipped, this, &MainWindow::showSkippedFiles);
    connect(m_session, &model::Session::studyChanged, this, &MainWindow::updateTitle);
    updateTitle();
    resize(1100, 720);
}

void MainWindow::createActions()
{
    m_openDicomFolder = new QAction(QIcon::fromTheme("folder-open"), tr("&Open DICOM folder…"), this);
    m_openDicomFolder->setObjectName("actionOpenDicomFolder");
    m_openDicomFolder->setShortcut(QKeySequence::Open);
    m_openDicomFolder->setStatusTip(tr("Scan a folder (recursively) for DICOM series"));
    connect(m_openDicomFolder, &QAction::triggered, this, &MainWindow::chooseDicomFolder);

    m_quit = new QAction(tr("&Quit"), this);
    m_quit->setObjectName("actionQuit");
    m_quit->setShortcut(QKeySequence::Quit);
    connect(m_quit, &QAction::triggered, this, &QWidget::close);

    m_about = new QAction(tr("&About CamSight"), this);
    m_about->setObjectName("actionAbout");
    connect(m_about, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::createMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    file->setObjectName("menuFile");
    file->addAction(m_openDicomFolder);
    file->addSeparator();
    file->addAction(m_quit);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->setObjectName("menuHelp");
    help->addAction(m_about);

    QToolBar* tools = addToolBar(tr("Main"));
    tools->setObjectName("mainToolBar");
    tools->setMovable(false);
    tools->addAction(m_openDicomFolder);
}

void MainWindow::chooseDicomFolder()
{
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Open DICOM folder"));
    if (!dir.isEmpty())
        openDicomFolder(dir);
}

void MainWindow::openDicomFolder(const QString& path)
{
    statusBar()->showMessage(tr("Reading %1…").arg(path));
    m_progress->setRange(0, 0);
    m_progress->setVisible(true);
    m_session->openDicomFolder(path);
}

void MainWindow::showProgress(int done, int total)
{
    m_progress->setRange(0, total);
    m_progress->setValue(done);
}

void MainWindow::showSeries()
{
    m_progress->setVisible(false);
    m_stack->setCurrentWidget(m_view);
    m_view->setFocus();
    const auto s = m_session->series();
    QString msg = tr("%1 × %2 × %3").arg(s->dims.x).arg(s->dims.y).arg(s->dims.z);
    if (!m_session->otherSeries().isEmpty())
        msg += tr("; %n more series in the folder", nullptr, int(m_session->otherSeries().size()));
    statusBar()->showMessage(msg);
}

void MainWindow::showSkippedFiles(const QStringList& lines)
{
    // Not modal: the series is open and usable; the user sees how many files are missing and which on hover.
    statusBar()->showMessage(tr("%n file(s) of this series could not be read; their slices are blank", nullptr,
                                int(lines.size())));
    statusBar()->setToolTip(lines.join('\n'));
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About CamSight"),
                       tr("<b>CamSight %1</b><p>Is the model looking at the lesion? Grad-CAM heatmaps, Segment Anything "
                          "masks and their agreement, on your own DICOM studies, offline.</p>")
                           .arg(QApplication::applicationVersion()));
}

void MainWindow::showError(const QString& message)
{
    m_progress->setVisible(false);
    statusBar()->showMessage(message, 10000);
    QMessageBox::warning(this, tr("CamSight"), message);
}

void MainWindow::updateTitle()
{
    setWindowTitle(m_session->hasStudy() ? tr("%1 — CamSight").arg(m_session->studyTitle()) : tr("CamSight"));
}

}  // namespace camsight::widgets
