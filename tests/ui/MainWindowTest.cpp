// The real MainWindow on the offscreen platform: title, actions, the empty state, and its pixels.

// Local
#include "ui/model/Session.h"
#include "ui/widgets/MainWindow.h"

// Qt
#include <QAction>
#include <QApplication>
#include <QDir>
#include <QImage>
#include <QLabel>
#include <QMenuBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTest>
#include <QTimer>

using camsight::model::Session;
using camsight::widgets::MainWindow;

class MainWindowTest : public QObject {
    Q_OBJECT
private slots:
    void titleAndActions();
    void emptyStateInvitesOpeningAFolder();
    void emptyStateIsDrawn();
    void openingAFolderReportsWhatHappened();
};

void MainWindowTest::titleAndActions()
{
    Session session;
    MainWindow w(&session);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QCOMPARE(w.windowTitle(), QString("CamSight"));
    auto* open = w.findChild<QAction*>("actionOpenDicomFolder");
    QVERIFY(open);
    QCOMPARE(open->text(), QString("&Open DICOM folder…"));
    QCOMPARE(open->shortcut(), QKeySequence(QKeySequence::Open));
    QVERIFY(w.findChild<QAction*>("actionQuit"));
    QVERIFY(w.findChild<QAction*>("actionAbout"));
    QStringList menus;
    for (QAction* a : w.menuBar()->actions())
        menus << a->text();
    QCOMPARE(menus, (QStringList{"&File", "&Help"}));
}

void MainWindowTest::emptyStateInvitesOpeningAFolder()
{
    Session session;
    MainWindow w(&session);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    auto* heading = w.findChild<QLabel*>("emptyHeading");
    QVERIFY(heading && heading->isVisible());
    QCOMPARE(heading->text(), QString("No study open"));
    auto* button = w.findChild<QPushButton*>("openDicomFolderButton");
    QVERIFY(button && button->isVisible());
    QCOMPARE(button->text(), QString("Open DICOM folder…"));
    // The button triggers the same action as the menu entry.
    QSignalSpy spy(w.openDicomFolderAction(), &QAction::triggered);
    disconnect(w.openDicomFolderAction(), nullptr, &w, nullptr);  // no modal file dialog in a test
    QTest::mouseClick(button, Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
}

void MainWindowTest::emptyStateIsDrawn()
{
    Session session;
    MainWindow w(&session);
    w.resize(1100, 720);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    const QImage shot = w.grab().toImage();
    QCOMPARE(shot.size(), QSize(1100, 720) * shot.devicePixelRatio());
    // The icon is drawn in the centre column above the heading: its dark frame and its warm heat spot.
    auto* heading = w.findChild<QLabel*>("emptyHeading");
    const QPoint headingTop = heading->mapTo(&w, QPoint(heading->width() / 2, 0));
    int dark = 0, warm = 0;
    for (int y = headingTop.y() - 100; y < headingTop.y(); ++y)
        for (int x = headingTop.x() - 48; x < headingTop.x() + 48; ++x) {
            const QColor c = shot.pixelColor(x, y);
            dark += c.red() < 40 && c.green() < 40 && c.blue() < 50;
            warm += c.red() > 200 && c.blue() < 120;
        }
    QVERIFY2(dark > 500, qPrintable(QString("dark icon pixels: %1").arg(dark)));
    QVERIFY2(warm > 100, qPrintable(QString("warm icon pixels: %1").arg(warm)));
    // The button's label is rendered: its area is not one flat colour.
    auto* button = w.findChild<QPushButton*>("openDicomFolderButton");
    const QImage b = button->grab().toImage();
    QSet<QRgb> colours;
    for (int y = 0; y < b.height(); ++y)
        for (int x = 0; x < b.width(); ++x)
            colours.insert(b.pixel(x, y));
    QVERIFY2(colours.size() > 8, "button label not drawn");
    const QString out = qEnvironmentVariable("CAMSIGHT_SCREENSHOT_DIR", QDir::tempPath());
    QDir().mkpath(out);
    QVERIFY(shot.save(out + "/empty.png"));
}

void MainWindowTest::openingAFolderReportsWhatHappened()
{
    Session session;
    MainWindow w(&session);
    QSignalSpy errors(&session, &Session::errorOccurred);
    // The message box is modal: close it whenever one appears.
    QTimer closer;
    connect(&closer, &QTimer::timeout, [] {
        for (QWidget* top : QApplication::topLevelWidgets())
            if (top->inherits("QMessageBox") && top->isVisible())
                top->close();
    });
    closer.start(20);
    w.openDicomFolder("/tmp/camsight-no-such-folder");
    QVERIFY(errors.wait(10000));
    QCOMPARE(errors.count(), 1);
    QVERIFY(errors.first().first().toString().startsWith("/tmp/camsight-no-such-folder: "));
    QTRY_VERIFY(w.statusBar()->currentMessage().contains("camsight-no-such-folder"));
}

QTEST_MAIN(MainWindowTest)
#include "MainWindowTest.moc"
