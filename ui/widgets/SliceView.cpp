#include "ui/widgets/SliceView.h"

// Local
#include "ui/model/Session.h"
#include "ui/render/SeriesSlice.h"

// Qt
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QWheelEvent>

// Std
#include <algorithm>
#include <cmath>

namespace camsight::widgets {

SliceView::SliceView(model::Session* session, QWidget* parent) : QWidget(parent), m_session(session)
{
    setObjectName("sliceView");
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(false);
    setAttribute(Qt::WA_OpaquePaintEvent);
    const auto stale = [this] {
        m_stale = true;
        update();
    };
    connect(m_session, &model::Session::sliceChanged, this, stale);
    connect(m_session, &model::Session::windowChanged, this, stale);
    connect(m_session, &model::Session::seriesLoaded, this, [this, stale] {
        m_zoom = 1.0;
        m_pan = {};
        stale();
    });
}

const QImage& SliceView::sliceImage()
{
    if (m_stale) {
        const auto s = m_session->series();
        m_image = s ? render::seriesSlice(*s, std::size_t(m_session->currentSlice()), m_session->window()) : QImage();
        m_stale = false;
    }
    return m_image;
}

QRectF SliceView::imageRect() const
{
    const auto s = m_session->series();
    if (!s)
        return {};
    // Physical size: columns x column spacing by rows x row spacing, fitted into the widget, then zoomed and panned.
    const double pw = double(s->dims.x) * s->geometry.spacing[0], ph = double(s->dims.y) * s->geometry.spacing[1];
    const double fit = std::min(width() / pw, height() / ph) * m_zoom;
    const QSizeF size(pw * fit, ph * fit);
    const QPointF centre = QPointF(width() / 2.0, height() / 2.0) + m_pan;
    return {centre - QPointF(size.width() / 2, size.height() / 2), size};
}

QStringList SliceView::edgeLetters() const
{
    const auto s = m_session->series();
    if (!s)
        return {"", "", "", ""};
    const image::Vec3 row = s->geometry.axis(0), col = s->geometry.axis(1);
    const auto letter = [](const image::Vec3& v) { return QString::fromLatin1(image::Geometry::dominantLetter(v)); };
    return {letter({-row[0], -row[1], -row[2]}), letter(row), letter({-col[0], -col[1], -col[2]}), letter(col)};
}

void SliceView::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), Qt::black);
    const auto s = m_session->series();
    if (!s)
        return;
    const QRectF target = imageRect();
    p.drawImage(target, sliceImage());  // nearest neighbour: every pixel as it is, however far the zoom
    QFont f = font();
    f.setPointSizeF(std::max(8.0, f.pointSizeF()));
    p.setFont(f);
    const int m = 8;
    const QRect inner = rect().adjusted(m, m, -m, -m);
    // Yellow with a dark outline: readable over bone as over air.
    const auto text = [&p](const QRect& box, int align, const QString& s) {
        p.setPen(Qt::black);
        for (const QPoint& o : {QPoint(-1, 0), QPoint(1, 0), QPoint(0, -1), QPoint(0, 1)})
            p.drawText(box.translated(o), align, s);
        p.setPen(QColor(230, 230, 120));
        p.drawText(box, align, s);
    };
    const image::WindowLevel w = m_session->window();
    text(inner, Qt::AlignLeft | Qt::AlignTop, m_session->studyTitle());
    text(inner, Qt::AlignLeft | Qt::AlignBottom, tr("Slice %1 / %2").arg(m_session->currentSlice() + 1).arg(m_session->sliceCount()));
    text(inner, Qt::AlignRight | Qt::AlignBottom,
         tr("W %1  L %2%3").arg(w.width, 0, 'f', 0).arg(w.center, 0, 'f', 0).arg(w.inverted ? tr("  inverted") : ""));
    const QStringList e = edgeLetters();
    text(rect().adjusted(m, 0, 0, 0), Qt::AlignLeft | Qt::AlignVCenter, e[0]);
    text(rect().adjusted(0, 0, -m, 0), Qt::AlignRight | Qt::AlignVCenter, e[1]);
    text(rect().adjusted(0, m, 0, 0), Qt::AlignHCenter | Qt::AlignTop, e[2]);
    text(rect().adjusted(0, 0, 0, -m), Qt::AlignHCenter | Qt::AlignBottom, e[3]);
}

void SliceView::wheelEvent(QWheelEvent* event)
{
    const int steps = event->angleDelta().y() / 120;
    if (steps == 0)
        return;
    if (event->modifiers() & Qt::ControlModifier)
        m_zoom = std::clamp(m_zoom * std::pow(1.25, steps), 0.1, 40.0), update();
    else
        m_session->setCurrentSlice(m_session->currentSlice() - steps);  // wheel away from you: towards slice 1
    event->accept();
}

void SliceView::mousePressEvent(QMouseEvent* event)
{
    m_last = event->position().toPoint();
    if (event->button() == Qt::MiddleButton || (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier)))
        m_drag = Drag::Pan;
    else if (event->button() == Qt::LeftButton)
        m_drag = Drag::Window;
    else if (event->button() == Qt::RightButton)
        m_drag = Drag::Zoom;
}

void SliceView::mouseMoveEvent(QMouseEvent* event)
{
    const QPoint now = event->position().toPoint(), d = now - m_last;
    m_last = now;
    switch (m_drag) {
    case Drag::Window: {
        // One pixel of drag moves the window by 1/256 of its own width (at least one unit): fine and coarse alike.
        image::WindowLevel w = m_session->window();
        const double unit = std::max(1.0, w.width / 256.0);
        w.width = std::max(1.0, w.width + d.x() * unit);
        w.center -= d.y() * unit;
        m_session->setWindow(w);
        break;
    }
    case Drag::Pan:
        m_pan += d;
        update();
        break;
    case Drag::Zoom:
        m_zoom = std::clamp(m_zoom * std::pow(1.01, -d.y()), 0.1, 40.0);
        update();
        break;
    case Drag::None:
        break;
    }
}

void SliceView::mouseReleaseEvent(QMouseEvent*) { m_drag = Drag::None; }

void SliceView::keyPressEvent(QKeyEvent* event)
{
    const int z = m_session->currentSlice(), page = std::max(1, m_session->sliceCount() / 10);
    switch (event->key()) {
    case Qt::Key_Up: m_session->setCurrentSlice(z - 1); break;
    case Qt::Key_Down: m_session->setCurrentSlice(z + 1); break;
    case Qt::Key_PageUp: m_session->setCurrentSlice(z - page); break;
    case Qt::Key_PageDown: m_session->setCurrentSlice(z + page); break;
    case Qt::Key_Home: m_session->setCurrentSlice(0); break;
    case Qt::Key_End: m_session->setCurrentSlice(m_session->sliceCount() - 1); break;
    case Qt::Key_R: resetView(); break;
    default: QWidget::keyPressEvent(event); return;
    }
    event->accept();
}

void SliceView::resetView()
{
    m_zoom = 1.0;
    m_pan = {};
    m_session->setWindow(m_session->defaultWindow());
    update();
}

}  // namespace camsight::widgets
