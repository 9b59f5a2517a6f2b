// Local
#include "core/ml/Runtime.h"
#include "ui/model/Session.h"
#include "ui/widgets/MainWindow.h"

// Qt
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

// Std
#include <cstdio>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName("CamSight");
    QApplication::setOrganizationName("CamSight");
    QApplication::setApplicationVersion(CAMSIGHT_VERSION);

    QCommandLineParser parser;
    parser.setApplicationDescription("CamSight: is the model looking at the lesion?");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("folder", "DICOM folder to open at start (optional)");
    QCommandLineOption screenshot("screenshot", "Render the window, save it as PNG to <file> and quit.", "file");
    parser.addOption(screenshot);
    parser.process(app);

    camsight::ml::initRuntime();
    camsight::model::Session session;
    camsight::widgets::MainWindow window(&session);
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openDicomFolder(parser.positionalArguments().first());
    if (parser.isSet(screenshot)) {
        QTimer::singleShot(300, &window, [&] {
            const QString path = parser.value(screenshot);
            if (!window.grab().save(path)) {
                std::fprintf(stderr, "camsight: cannot write screenshot %s\n", qPrintable(path));
                QApplication::exit(1);
                return;
            }
            QApplication::quit();
        });
    }
    return QApplication::exec();
}
