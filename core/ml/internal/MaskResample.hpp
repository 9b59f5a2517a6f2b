#pragma once
// Private to core/ml: SAM's mask post-processing as one separable operator.

// Std
#include <array>
#include <cstdint>
#include <vector>

namespace camsight::ml {

/// Sam.postprocess_masks without the two full-size intermediate images: F.interpolate(bilinear, align_corners=False)
/// from the low-resolution grid to `mid`, keep the top-left `keep` (the resized image inside the padded input), then
/// F.interpolate to `out`. Bilinear resizing is separable and linear, so per axis the whole chain is one sparse
/// operator with at most four taps into the low-resolution samples; applying it by rows and then by columns costs
/// about 8 multiply-adds per output pixel. Same values as the chain of interpolations up to float rounding (the
/// weights are composed in double). With `mid` = 0 it is one resize from the grid to `out` (MedSAM's
/// post-processing).
class MaskResampler {
public:
    /// Sizes as (rows, columns). Throws std::invalid_argument for empty sizes or `keep` larger than `mid`.
    MaskResampler(int lowH, int lowW, int midH, int midW, int keepH, int keepW, int outH, int outW);

    int outHeight() const { return int(m_rows.size() / kTaps); }
    int outWidth() const { return int(m_colIndex[0].size()); }

    /// `low`: lowH x lowW samples; `out`: outH x outW. When `mask` is not null it receives out > threshold; `out` may
    /// then be null (only the mask is written, each row thresholded as it is made).
    void apply(const float* low, float* out, std::uint8_t* mask = nullptr, float threshold = 0.0f) const;

private:
    static constexpr int kTaps = 4;
    struct Tap {
        std::int32_t index;
        float weight;
    };
    static std::vector<Tap> axis(int low, int mid, int keep, int out);
    static int tapsUsed(const std::vector<Tap>& taps);

    int m_lowH, m_lowW;
    std::vector<Tap> m_rows;  ///< kTaps per output row
    std::array<std::vector<std::int32_t>, kTaps> m_colIndex;  ///< per tap, for every output column: the low-resolution
    std::array<std::vector<float>, kTaps> m_colWeight;        ///< column it reads and its weight
    int m_rowTaps = kTaps, m_colTaps = kTaps;  ///< 2 where the last two taps of every row / column weigh 0 (the chain
                                               ///< with an identity last resize: the image kept its input size)
    int m_firstLowRow = 0, m_endLowRow = 0;    ///< the low-resolution rows the output rows read
};

}  // namespace camsight::ml
