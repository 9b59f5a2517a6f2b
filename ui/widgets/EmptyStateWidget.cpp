#include "ui/widgets/EmptyStateWidget.h"

// Qt
#include <QAction>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

namespace camsight::widgets {

EmptyStateWidget::EmptyStateWidget(QAction* openDicomFolder, QWidget* parent) : QWidget(parent)
{
    setObjectName("emptyState");
    auto* layout = new QVBoxLayout(this);
    layout->addStretch(2);

    auto* icon = new QLabel(this);
    icon->setPixmap(QIcon(":/icons/camsight.svg").pixmap(96, 96));
    icon->setAlignment(Qt::AlignCenter);
    layout->addWidget(icon);

    auto* heading = new QLabel(tr("No study open"), this);
    heading->setObjectName("emptyHeading");
    QFont f = heading->font();
    f.setPointSizeF(f.pointSizeF() * 1.8);
    f.setBold(true);
    heading->setFont(f);
    heading->setAlignment(Qt::AlignCenter);
    layout->addWidget(heading);

    auto* text = new QLabel(tr("Open a DICOM folder to view its series, compute where your classifier looks,\n"
                               "segment the lesion with Segment Anything and see how well the two agree."),
                            this);
    text->setAlignment(Qt::AlignCenter);
    text->setWordWrap(true);
    layout->addWidget(text);

    auto* button = new QPushButton(openDicomFolder->icon(), openDicomFolder->text().remove('&'), this);
    button->setObjectName("openDicomFolderButton");
    button->setMinimumHeight(40);
    button->setDefault(true);
    connect(button, &QPushButton::clicked, openDicomFolder, &QAction::trigger);
    auto* row = new QHBoxLayout;
    row->addStretch();
    row->addWidget(button);
    row->addStretch();
    layout->addLayout(row);

    auto* hint = new QLabel(tr("Shortcut: %1")
                                .arg(openDicomFolder->shortcut().toString(QKeySequence::NativeText)),
                            this);
    hint->setAlignment(Qt::AlignCenter);
    hint->setEnabled(false);
    layout->addWidget(hint);
    layout->addStretch(3);
}

}  // namespace camsight::widgets
