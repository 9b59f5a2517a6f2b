#pragma once
// Qt
#include <QWidget>

class QAction;

namespace camsight::widgets {

/// What the window shows before a study is open: what CamSight does and one obvious way to start.
class EmptyStateWidget : public QWidget {
    Q_OBJECT
public:
    EmptyStateWidget(QAction* openDicomFolder, QWidget* parent = nullptr);
};

}  // namespace camsight::widgets
