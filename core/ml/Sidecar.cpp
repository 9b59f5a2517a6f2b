#include "core/ml/Sidecar.h"

// Local
#include "core/io/Json.h"

// Std
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace camsight::ml {
namespace {

using io::Json;

[[noreturn]] void bad(const std::string& origin, const std::string& what)
{
    throw std::runtime_error(origin + ": " + what);
}

int positiveInt(const Json& j, const std::string& origin, const std::string& field)
{
    const double v = j.number();
    if (j.type != Json::Type::Number || !(v >= 1) || v > 65536 || v != std::floor(v))
        bad(origin, "'" + field + "' must be a whole number from 1 to 65536");
    return static_cast<int>(v);
}

std::vector<double> numberList(const Json& j, const std::string& origin, const std::string& field)
{
    std::vector<double> out;
    if (j.type == Json::Type::Number)
        out.push_back(j.num);
    else if (j.type == Json::Type::Array)
        for (const auto& e : j.arr) {
            if (e.type != Json::Type::Number)
                bad(origin, "'" + field + "' must hold numbers");
            out.push_back(e.num);
        }
    else
        bad(origin, "'" + field + "' must be a number or a list of numbers");
    for (double v : out)
        if (!std::isfinite(v))
            bad(origin, "'" + field + "' must hold finite numbers");
    return out;
}

// Python's round(): halves to even (torchvision's CenterCrop rounds its offsets with it).
int roundHalfEven(double x)
{
    const double r = std::nearbyint(x);  // default rounding mode: to nearest, ties to even
    return static_cast<int>(r);
}

}  // namespace

ModelSidecar ModelSidecar::parse(const std::string& text, const std::string& origin)
{
    Json j;
    try {
        j = Json::parse(text);
    } catch (const std::runtime_error& e) {
        bad(origin, e.what());
    }
    if (j.type != Json::Type::Object)
        bad(origin, "a sidecar is a JSON object");
    static const char* known[] = {"input_size", "channels", "mean",        "std",          "resize",
                                  "crop",       "intensity", "class_names", "target_layer", "target"};
    for (const auto& [k, v] : j.obj)
        if (std::find_if(std::begin(known), std::end(known), [&](const char* n) { return k == n; }) == std::end(known))
            bad(origin, "unknown field '" + k + "'");
    ModelSidecar s;
    const Json* size = j.find("input_size");
    if (!size || size->type != Json::Type::Array || size->arr.size() != 2)
        bad(origin, "'input_size' must be [height, width]");
    s.inputHeight = positiveInt((*size)[0], origin, "input_size");
    s.inputWidth = positiveInt((*size)[1], origin, "input_size");
    if (const Json* c = j.find("channels")) {
        s.channels = positiveInt(*c, origin, "channels");
        if (s.channels != 1 && s.channels != 3)
            bad(origin, "'channels' must be 1 or 3");
    }
    if (const Json* m = j.find("mean"))
        s.mean = numberList(*m, origin, "mean");
    if (const Json* m = j.find("std"))
        s.std = numberList(*m, origin, "std");
    for (auto* list : {&s.mean, &s.std})
        if (list->size() != 1 && list->size() != std::size_t(s.channels))
            bad(origin, "'mean' and 'std' need 1 or " + std::to_string(s.channels) + " values");
    for (double v : s.std)
        if (!(v > 0))
            bad(origin, "'std' values must be positive");
    if (const Json* r = j.find("resize")) {
        if (const Json* sh = r->find("shorter_side")) {
            s.resize = Resize::ShorterSide;
            s.shorterSide = positiveInt(*sh, origin, "resize.shorter_side");
        } else if (const Json* sz = r->find("size")) {
            if (sz->type != Json::Type::Array || sz->arr.size() != 2)
                bad(origin, "'resize.size' must be [height, width]");
            s.resize = Resize::Exact;
            s.resizeHeight = positiveInt((*sz)[0], origin, "resize.size");
            s.resizeWidth = positiveInt((*sz)[1], origin, "resize.size");
        } else {
            bad(origin, "'resize' must be {\"shorter_side\": S} or {\"size\": [H, W]}");
        }
    }
    if (const Json* c = j.find("crop")) {
        if (c->type != Json::Type::String || (c->str != "center" && c->str != "none"))
            bad(origin, "'crop' must be \"center\" or \"none\"");
        s.centerCrop = c->str == "center";
    }
    if (const Json* in = j.find("intensity")) {
        if (in->type == Json::Type::String && in->str == "minmax") {
            s.intensity = Intensity::MinMax;
        } else if (const Json* w = in->find("window")) {
            s.intensity = Intensity::Window;
            const Json* c = w->find("center");
            const Json* wd = w->find("width");
            if (!c || !wd || c->type != Json::Type::Number || wd->type != Json::Type::Number || !(wd->num >= 1))
                bad(origin, "'intensity.window' needs a numeric center and a width of at least 1");
            s.windowCenter = c->num;
            s.windowWidth = wd->num;
        } else if (const Json* sc = in->find("scale")) {
            s.intensity = Intensity::Scale;
            if (sc->type != Json::Type::Number || !(sc->num > 0))
                bad(origin, "'intensity.scale' must be a positive number");
            s.scale = sc->num;
        } else {
            bad(origin, "'intensity' must be \"minmax\", {\"window\": {...}} or {\"scale\": S}");
        }
    }
    if (const Json* n = j.find("class_names")) {
        if (n->type != Json::Type::Array)
            bad(origin, "'class_names' must be a list of strings");
        for (const auto& e : n->arr) {
            if (e.type != Json::Type::String)
                bad(origin, "'class_names' must be a list of strings");
            s.classNames.push_back(e.str);
        }
    }
    if (const Json* l = j.find("target_layer")) {
        if (l->type != Json::Type::String)
            bad(origin, "'target_layer' must be a string");
        s.targetLayer = l->str;
    }
    if (const Json* t = j.find("target")) {
        if (t->type != Json::Type::String || (t->str != "logit" && t->str != "softmax" && t->str != "binary"))
            bad(origin, "'target' must be \"logit\", \"softmax\" or \"binary\"");
        s.target = t->str;
    }
    if (!s.centerCrop && s.resize != Resize::ToInput &&
        !(s.resize == Resize::Exact && s.resizeHeight == s.inputHeight && s.resizeWidth == s.inputWidth))
        bad(origin, "a resize to another size than input_size needs \"crop\": \"center\"");
    return s;
}

ModelSidecar ModelSidecar::load(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    if (!f)
        bad(path, "cannot open the sidecar file");
    std::stringstream text;
    text << f.rdbuf();
    return parse(text.str(), path);
}

std::string ModelSidecar::pathBeside(const std::string& modelPath)
{
    std::filesystem::path p(modelPath);
    p.replace_extension(".json");
    return p.string();
}

double InputGeometry::coverage() const
{
    if (resizedWidth <= 0 || resizedHeight <= 0)
        return 0;
    return double(std::min(inputWidth, resizedWidth)) * std::min(inputHeight, resizedHeight) /
           (double(resizedWidth) * resizedHeight);
}

InputGeometry planInput(const ModelSidecar& s, int sliceWidth, int sliceHeight)
{
    if (sliceWidth <= 0 || sliceHeight <= 0)
        throw std::invalid_argument("empty slice");
    InputGeometry g;
    g.sliceWidth = sliceWidth;
    g.sliceHeight = sliceHeight;
    g.inputWidth = s.inputWidth;
    g.inputHeight = s.inputHeight;
    switch (s.resize) {
    case ModelSidecar::Resize::ToInput:
        g.resizedWidth = s.inputWidth;
        g.resizedHeight = s.inputHeight;
        break;
    case ModelSidecar::Resize::Exact:
        g.resizedWidth = s.resizeWidth;
        g.resizedHeight = s.resizeHeight;
        break;
    case ModelSidecar::Resize::ShorterSide: {
        // torchvision: the shorter side becomes S, the longer int(S * long / short).
        const bool wide = sliceWidth >= sliceHeight;
        const int shortSide = wide ? sliceHeight : sliceWidth, longSide = wide ? sliceWidth : sliceHeight;
        const int newLong = static_cast<int>(double(s.shorterSide) * longSide / shortSide);
        g.resizedWidth = wide ? newLong : s.shorterSide;
        g.resizedHeight = wide ? s.shorterSide : newLong;
        break;
    }
    }
    if (s.centerCrop) {
        if (g.inputWidth > g.resizedWidth || g.inputHeight > g.resizedHeight)
            throw std::invalid_argument("the crop " + std::to_string(g.inputWidth) + "x" + std::to_string(g.inputHeight) +
                                        " is larger than the resized slice " + std::to_string(g.resizedWidth) + "x" +
                                        std::to_string(g.resizedHeight));
        g.cropX = roundHalfEven((g.resizedWidth - g.inputWidth) / 2.0);
        g.cropY = roundHalfEven((g.resizedHeight - g.inputHeight) / 2.0);
    } else if (g.resizedWidth != g.inputWidth || g.resizedHeight != g.inputHeight) {
        throw std::invalid_argument("the resized slice differs from the input size and there is no crop");
    }
    return g;
}

std::vector<float> resizeLinear(const std::vector<float>& in, int w, int h, int nw, int nh)
{
    // Separable: rows first, then columns. Each output sample is a normalised triangle-weighted sum over the inputs
    // within `support` of its centre (support 1 when enlarging, the scale factor when shrinking).
    auto weights = [](int inSize, int outSize, std::vector<int>& first, std::vector<int>& count, std::vector<float>& wts,
                      int& maxTaps) {
        const double scale = double(inSize) / outSize;
        const double support = std::max(scale, 1.0);
        maxTaps = static_cast<int>(std::ceil(support)) * 2 + 1;
        first.assign(outSize, 0);
        count.assign(outSize, 0);
        wts.assign(std::size_t(outSize) * maxTaps, 0.0f);
        for (int o = 0; o < outSize; ++o) {
            const double centre = (o + 0.5) * scale;
            const int lo = std::max(0, static_cast<int>(std::floor(centre - support)));
            const int hi = std::min(inSize, static_cast<int>(std::ceil(centre + support)));
            double sum = 0;
            std::vector<double> ws;
            for (int i = lo; i < hi; ++i) {
                const double d = std::fabs((i + 0.5 - centre) / support);
                ws.push_back(d < 1 ? 1 - d : 0);
                sum += ws.back();
            }
            first[o] = lo;
            count[o] = std::min<int>(static_cast<int>(ws.size()), maxTaps);
            for (int k = 0; k < count[o]; ++k)
                wts[std::size_t(o) * maxTaps + k] = static_cast<float>(sum > 0 ? ws[k] / sum : 0);
        }
    };
    std::vector<int> fx, cx, fy, cy;
    std::vector<float> wx, wy;
    int tx = 0, ty = 0;
    weights(w, nw, fx, cx, wx, tx);
    weights(h, nh, fy, cy, wy, ty);
    std::vector<float> tmp(std::size_t(nw) * h);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < nw; ++x) {
            double acc = 0;
            for (int k = 0; k < cx[x]; ++k)
                acc += double(wx[std::size_t(x) * tx + k]) * in[std::size_t(y) * w + fx[x] + k];
            tmp[std::size_t(y) * nw + x] = static_cast<float>(acc);
        }
    std::vector<float> out(std::size_t(nw) * nh);
    for (int y = 0; y < nh; ++y)
        for (int x = 0; x < nw; ++x) {
            double acc = 0;
            for (int k = 0; k < cy[y]; ++k)
                acc += double(wy[std::size_t(y) * ty + k]) * tmp[std::size_t(fy[y] + k) * nw + x];
            out[std::size_t(y) * nw + x] = static_cast<float>(acc);
        }
    return out;
}

FloatArray prepareInput(const ModelSidecar& s, const std::vector<float>& pixels, int sw, int sh, int sc,
                        InputGeometry* geometryOut)
{
    if (sc != 1 && sc != 3)
        throw std::invalid_argument("a slice has 1 or 3 channels, not " + std::to_string(sc));
    if (pixels.size() != std::size_t(sw) * sh * sc)
        throw std::invalid_argument("slice buffer does not hold " + std::to_string(sw) + "x" + std::to_string(sh) + "x" +
                                    std::to_string(sc) + " values");
    const InputGeometry g = planInput(s, sw, sh);
    if (geometryOut)
        *geometryOut = g;
    // Intensities to [0, 1].
    std::vector<float> unit(pixels.size());
    double lo = 0, hi = 1;
    if (s.intensity == ModelSidecar::Intensity::MinMax) {
        const auto [mn, mx] = std::minmax_element(pixels.begin(), pixels.end());
        lo = *mn;
        hi = *mx;
    }
    for (std::size_t i = 0; i < pixels.size(); ++i) {
        const double v = pixels[i];
        double u = 0;
        switch (s.intensity) {
        case ModelSidecar::Intensity::MinMax:
            u = hi > lo ? (v - lo) / (hi - lo) : 0.0;
            break;
        case ModelSidecar::Intensity::Scale:
            u = v / s.scale;
            break;
        case ModelSidecar::Intensity::Window: {
            // DICOM PS3.3 C.11.2.1.2 linear window, to [0, 1].
            const double c = s.windowCenter - 0.5, w = s.windowWidth - 1.0;
            u = v <= c - w / 2 ? 0.0 : v > c + w / 2 ? 1.0 : ((v - c) / w + 0.5);
            break;
        }
        }
        unit[i] = static_cast<float>(u);
    }
    // Per slice channel: resize, crop.
    std::vector<std::vector<float>> planes;
    for (int c = 0; c < sc; ++c) {
        std::vector<float> plane(std::size_t(sw) * sh);
        for (std::size_t i = 0; i < plane.size(); ++i)
            plane[i] = unit[i * sc + c];
        const std::vector<float> resized = resizeLinear(plane, sw, sh, g.resizedWidth, g.resizedHeight);
        std::vector<float> cropped(std::size_t(g.inputWidth) * g.inputHeight);
        for (int y = 0; y < g.inputHeight; ++y)
            std::copy_n(resized.begin() + std::size_t(y + g.cropY) * g.resizedWidth + g.cropX, g.inputWidth,
                        cropped.begin() + std::size_t(y) * g.inputWidth);
        planes.push_back(std::move(cropped));
    }
    if (sc == 3 && s.channels == 1) {
        for (std::size_t i = 0; i < planes[0].size(); ++i)
            planes[0][i] = (planes[0][i] + planes[1][i] + planes[2][i]) / 3.0f;
        planes.resize(1);
    }
    FloatArray out({1, s.channels, s.inputHeight, s.inputWidth});
    const std::size_t plane = std::size_t(s.inputWidth) * s.inputHeight;
    for (int c = 0; c < s.channels; ++c) {
        const auto& src = planes[planes.size() == 1 ? 0 : c];
        const double m = s.mean.size() == 1 ? s.mean[0] : s.mean[c], d = s.std.size() == 1 ? s.std[0] : s.std[c];
        for (std::size_t i = 0; i < plane; ++i)
            out.data[c * plane + i] = static_cast<float>((src[i] - m) / d);
    }
    return out;
}

std::vector<float> mapToSlice(const InputGeometry& g, const std::vector<float>& map, float outside)
{
    if (map.size() != std::size_t(g.inputWidth) * g.inputHeight)
        throw std::invalid_argument("the map has " + std::to_string(map.size()) + " values, the model input " +
                                    std::to_string(g.inputWidth) + "x" + std::to_string(g.inputHeight));
    std::vector<float> out(std::size_t(g.sliceWidth) * g.sliceHeight, outside);
    // Along one axis: the slice pixel centre o in the model input's pixel coordinates (centres at integers), or
    // outside when the crop removed it; then the two input pixels around it and the weight of the second.
    struct Tap {
        bool inside;
        int i0, i1;
        double f;
    };
    auto tap = [](int o, double scale, int crop, int size) {
        const double q = (o + 0.5) * scale - 0.5 - crop;
        if (q < -0.5 || q > size - 0.5)
            return Tap{false, 0, 0, 0};
        const double qc = std::clamp(q, 0.0, double(size - 1));
        const int i0 = std::min(static_cast<int>(qc), size - 1);
        return Tap{true, i0, std::min(i0 + 1, size - 1), qc - i0};
    };
    const double sx = double(g.resizedWidth) / g.sliceWidth, sy = double(g.resizedHeight) / g.sliceHeight;
    const auto at = [&](int x, int y) { return double(map[std::size_t(y) * g.inputWidth + x]); };
    for (int y = 0; y < g.sliceHeight; ++y) {
        const Tap ty = tap(y, sy, g.cropY, g.inputHeight);
        if (!ty.inside)
            continue;
        for (int x = 0; x < g.sliceWidth; ++x) {
            const Tap tx = tap(x, sx, g.cropX, g.inputWidth);
            if (!tx.inside)
                continue;
            const double v = (1 - ty.f) * ((1 - tx.f) * at(tx.i0, ty.i0) + tx.f * at(tx.i1, ty.i0)) +
                             ty.f * ((1 - tx.f) * at(tx.i0, ty.i1) + tx.f * at(tx.i1, ty.i1));
            out[std::size_t(y) * g.sliceWidth + x] = static_cast<float>(v);
        }
    }
    return out;
}

}  // namespace camsight::ml
