#pragma once
// Qt
#include <QImage>
#include <QPointF>
#include <QWidget>

namespace camsight::model {
class Session;
}

namespace camsight::widgets {

/// One slice of the Session's series, drawn with its physical pixel aspect, and the interactions radiologists expect:
/// wheel or Up/Down/PageUp/PageDown/Home/End to scroll slices, left drag for window (horizontal: width, vertical:
/// level), Ctrl+wheel or right drag to zoom, middle drag (or Shift + left drag) to pan, R to reset the view and the
/// window. Corner text gives slice, window and series; the edges carry the patient-orientation letters.
class SliceView : public QWidget {
    Q_OBJECT
public:
    explicit SliceView(model::Session* session, QWidget* parent = nullptr);

    /// Where the slice's pixels are drawn, in widget coordinates.
    QRectF imageRect() const;
    double zoom() const { return m_zoom; }
    /// Orientation letters shown at the left, right, top and bottom edges ("" where no geometry).
    QStringList edgeLetters() const;

    QSize sizeHint() const override { return {640, 640}; }

public slots:
    void resetView();

protected:
    void paintEvent(QPaintEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;

private:
    enum class Drag { None, Window, Pan, Zoom };
    const QImage& sliceImage();

    model::Session* m_session;
    QImage m_image;
    bool m_stale = true;
    double m_zoom = 1.0;
    QPointF m_pan;
    Drag m_drag = Drag::None;
    QPoint m_last;
};

}  // namespace camsight::widgets
