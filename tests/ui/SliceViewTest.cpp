// The viewer on a series DCMTK writes here with known values: the real MainWindow on the offscreen platform opens
// the folder on a worker thread, shows the middle slice through the stored window, and scrolls, windows and zooms
// under the mouse and keyboard; the checks read the drawn pixels.

// Local
#include "core/image/WindowLevel.h"
#include "ui/model/Session.h"
#include "ui/widgets/MainWindow.h"
#include "ui/widgets/SliceView.h"

// DCMTK
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>

// Qt
#include <QApplication>
#include <QDir>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTemporaryDir>
#include <QTest>
#include <QTimer>

// Std
#include <cmath>

using camsight::model::Session;
using camsight::widgets::MainWindow;
using camsight::widgets::SliceView;

namespace {

constexpr int kColumns = 64, kRows = 32, kSlices = 4;

// Coronal slices (rows run left to right, columns from head to feet), 0.5 mm between columns and 1 mm between rows,
// so the 64 x 32 matrix is 32 mm square. Slice k holds 100 k HU in its left half and 0 in its right half.
void writeSeries(const QString& dir, const char* photometric = "MONOCHROME2")
{
    for (int k = 0; k < kSlices; ++k) {
        DcmFileFormat ff;
        DcmDataset* ds = ff.getDataset();
        ds->putAndInsertString(DCM_SOPClassUID, UID_CTImageStorage);
        ds->putAndInsertString(DCM_SOPInstanceUID, ("1.2.826.0.1.3680043.9.7.2." + std::to_string(k)).c_str());
        ds->putAndInsertString(DCM_StudyInstanceUID, "1.2.826.0.1.3680043.9.7.2");
        ds->putAndInsertString(DCM_SeriesInstanceUID, "1.2.826.0.1.3680043.9.7.2.1");
        ds->putAndInsertString(DCM_Modality, "CT");
        ds->putAndInsertString(DCM_SeriesDescription, "viewer test");
        ds->putAndInsertString(DCM_PatientName, "View^Test");
        ds->putAndInsertString(DCM_ImagePositionPatient, ("0\\" + std::to_string(2 * k) + "\\0").c_str());
        ds->putAndInsertString(DCM_ImageOrientationPatient, "1\\0\\0\\0\\0\\-1");
        ds->putAndInsertString(DCM_PixelSpacing, "1\\0.5");
        ds->putAndInsertString(DCM_RescaleSlope, "1");
        ds->putAndInsertString(DCM_RescaleIntercept, "-1000");
        ds->putAndInsertString(DCM_WindowCenter, "150");
        ds->putAndInsertString(DCM_WindowWidth, "300");
        ds->putAndInsertString(DCM_PhotometricInterpretation, photometric);
        ds->putAndInsertUint16(DCM_SamplesPerPixel, 1);
        ds->putAndInsertUint16(DCM_Rows, kRows);
        ds->putAndInsertUint16(DCM_Columns, kColumns);
        ds->putAndInsertUint16(DCM_BitsAllocated, 16);
        ds->putAndInsertUint16(DCM_BitsStored, 12);
        ds->putAndInsertUint16(DCM_HighBit, 11);
        ds->putAndInsertUint16(DCM_PixelRepresentation, 0);
        std::vector<Uint16> px(kRows * kColumns);
        for (int y = 0; y < kRows; ++y)
            for (int x = 0; x < kColumns; ++x)
                px[std::size_t(y * kColumns + x)] = Uint16(x < kColumns / 2 ? 1000 + 100 * k : 1000);
        ds->putAndInsertUint16Array(DCM_PixelData, px.data(), px.size());
        // Names in reverse slice order: the viewer must sort by position.
        const QString file = dir + QString("/img%1.dcm").arg(kSlices - k);
        QVERIFY(ff.saveFile(file.toStdString().c_str(), EXS_LittleEndianExplicit).good());
    }
}

int grey(double value, const camsight::image::WindowLevel& w)
{
    std::uint8_t out = 0;
    camsight::image::applyWindow(&value, 1, w, &out);
    return out;
}

}  // namespace

class SliceViewTest : public QObject {
    Q_OBJECT
private slots:
    void opensScrollsWindowsAndZooms();
    void monochrome1IsShownInverted();
    void emptyFolderSaysWhatWasFound();
};

void SliceViewTest::opensScrollsWindowsAndZooms()
{
    QTemporaryDir dir;
    writeSeries(dir.path());
    Session session;
    MainWindow w(&session);
    w.resize(900, 700);
    w.show();
    QVERIFY(QTest::qWaitForWindowExposed(&w));
    QSignalSpy loaded(&session, &Session::seriesLoaded);
    QSignalSpy progress(&session, &Session::loadProgress);
    w.openDicomFolder(dir.path());
    QVERIFY(loaded.wait(20000));
    QVERIFY(progress.count() >= kSlices);
    QCOMPARE(progress.last().at(0).toInt(), progress.last().at(1).toInt());  // ends at 100 %
    QCOMPARE(session.sliceCount(), kSlices);
    QCOMPARE(session.currentSlice(), kSlices / 2);
    QCOMPARE(session.window().center, 150.0);
    QCOMPARE(session.window().width, 300.0);
    QVERIFY(w.windowTitle().contains("viewer test"));

    SliceView* view = w.sliceView();
    QVERIFY(view->isVisible());
    // 64 x 32 pixels of 0.5 x 1 mm: drawn square, as the patient is.
    const QRectF r = view->imageRect();
    QVERIFY2(std::abs(r.width() - r.height()) < 1.0, qPrintable(QString("%1 x %2").arg(r.width()).arg(r.height())));
    QCOMPARE(view->edgeLetters(), (QStringList{"R", "L", "S", "I"}));

    auto sample = [&](double fx) {  // the grey level drawn at a fraction of the image's width, mid-height
        const QImage shot = view->grab().toImage();
        const QPoint p(int(r.left() + fx * r.width()), int(r.center().y()));
        return qGray(shot.pixel(p * shot.devicePixelRatio()));
    };
    const auto win = session.window();
    QCOMPARE(sample(0.25), grey(200, win));  // slice 2: 200 HU on the left
    QCOMPARE(sample(0.75), grey(0, win));

    // Wheel away from the user: one slice towards the first.
    QWheelEvent up(r.center(), view->mapToGlobal(r.center()), {}, QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                   Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &up);
    QCOMPARE(session.currentSlice(), 1);
    QCOMPARE(sample(0.25), grey(100, win));
    QTest::keyClick(view, Qt::Key_End);
    QCOMPARE(session.currentSlice(), kSlices - 1);
    QCOMPARE(sample(0.25), grey(300, win));
    QTest::keyClick(view, Qt::Key_Home);
    QCOMPARE(session.currentSlice(), 0);

    // Left drag to the right widens the window, upwards raises the level: 1/256 of the width per pixel.
    QTest::keyClick(view, Qt::Key_End);
    const QPoint from = r.center().toPoint();
    QTest::mousePress(view, Qt::LeftButton, {}, from);
    QMouseEvent move(QEvent::MouseMove, QPointF(from + QPoint(100, -50)), view->mapToGlobal(QPointF(from + QPoint(100, -50))),
                     Qt::NoButton, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view, &move);
    QTest::mouseRelease(view, Qt::LeftButton, {}, from + QPoint(100, -50));
    const double unit = 300.0 / 256.0;
    QCOMPARE(session.window().width, 300.0 + 100 * unit);
    QCOMPARE(session.window().center, 150.0 + 50 * unit);
    QCOMPARE(sample(0.25), grey(300, session.window()));
    QVERIFY(sample(0.25) < 255);

    // Ctrl + wheel zooms about the centre; R resets view and window.
    QWheelEvent zoom(r.center(), view->mapToGlobal(r.center()), {}, QPoint(0, 240), Qt::NoButton, Qt::ControlModifier,
                     Qt::NoScrollPhase, false);
    QApplication::sendEvent(view, &zoom);
    QCOMPARE(view->zoom(), 1.5625);
    QVERIFY(std::abs(view->imageRect().width() - 1.5625 * r.width()) < 1.0);
    QTest::keyClick(view, Qt::Key_R);
    QCOMPARE(view->zoom(), 1.0);
    QCOMPARE(session.window().width, 300.0);

    // Corner text is drawn (yellow on black, bottom left: "Slice 4 / 4").
    const QImage shot = view->grab().toImage();
    int yellow = 0;
    for (int y = shot.height() - 30; y < shot.height(); ++y)
        for (int x = 0; x < 120; ++x) {
            const QColor c = shot.pixelColor(x, y);
            yellow += c.red() > 150 && c.green() > 150 && c.blue() < 100;
        }
    QVERIFY2(yellow > 20, qPrintable(QString("corner text pixels: %1").arg(yellow)));
    const QString out = qEnvironmentVariable("CAMSIGHT_SCREENSHOT_DIR", QDir::tempPath());
    QDir().mkpath(out);
    QVERIFY(w.grab().save(out + "/viewer.png"));
}

void SliceViewTest::monochrome1IsShownInverted()
{
    QTemporaryDir dir;
    writeSeries(dir.path(), "MONOCHROME1");
    Session session;
    SliceView view(&session);
    view.resize(300, 300);
    view.show();
    QSignalSpy loaded(&session, &Session::seriesLoaded);
    session.openDicomFolder(dir.path());
    QVERIFY(loaded.wait(20000));
    QVERIFY(session.window().inverted);
    const QRectF r = view.imageRect();
    const QImage shot = view.grab().toImage();
    const auto at = [&](double fx) { return qGray(shot.pixel(QPoint(int(r.left() + fx * r.width()), int(r.center().y())) * shot.devicePixelRatio())); };
    QCOMPARE(at(0.25), grey(200, session.window()));
    QCOMPARE(at(0.75), 255);  // 0 HU is black in MONOCHROME2, white here
}

void SliceViewTest::emptyFolderSaysWhatWasFound()
{
    QTemporaryDir dir;
    QFile readme(dir.path() + "/README.txt");
    QVERIFY(readme.open(QIODevice::WriteOnly));
    readme.write("not an image");
    readme.close();
    Session session;
    QSignalSpy errors(&session, &Session::errorOccurred);
    session.openDicomFolder(dir.path());
    QVERIFY(errors.wait(20000));
    const QString e = errors.first().first().toString();
    QVERIFY2(e.startsWith(dir.path() + ": no DICOM image series found (1 files examined"), qPrintable(e));
    QVERIFY(!session.hasStudy());
}

QTEST_MAIN(SliceViewTest)
#include "SliceViewTest.moc"
