#include "core/dicom/Jpeg2000.h"

// OpenJPEG
#include <openjpeg.h>

// Std
#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace camsight::dicom {
namespace {

struct Buffer {
    const std::uint8_t* data;
    std::size_t size, pos;
};

OPJ_SIZE_T readFn(void* out, OPJ_SIZE_T n, void* user)
{
    auto* b = static_cast<Buffer*>(user);
    if (b->pos >= b->size)
        return OPJ_SIZE_T(-1);
    const std::size_t k = std::min<std::size_t>(n, b->size - b->pos);
    std::memcpy(out, b->data + b->pos, k);
    b->pos += k;
    return k;
}

OPJ_OFF_T skipFn(OPJ_OFF_T n, void* user)
{
    auto* b = static_cast<Buffer*>(user);
    const OPJ_OFF_T room = OPJ_OFF_T(b->size) - OPJ_OFF_T(b->pos);
    const OPJ_OFF_T k = std::max<OPJ_OFF_T>(std::min(n, room), -OPJ_OFF_T(b->pos));
    b->pos = std::size_t(OPJ_OFF_T(b->pos) + k);
    return k;
}

OPJ_BOOL seekFn(OPJ_OFF_T n, void* user)
{
    auto* b = static_cast<Buffer*>(user);
    if (n < 0 || std::size_t(n) > b->size)
        return OPJ_FALSE;
    b->pos = std::size_t(n);
    return OPJ_TRUE;
}

void errorFn(const char* msg, void* user)
{
    auto* last = static_cast<std::string*>(user);
    if (last->empty()) {
        *last = msg;
        while (!last->empty() && (last->back() == '\n' || last->back() == ' '))
            last->pop_back();
    }
}

void quietFn(const char*, void*) {}

}  // namespace

J2kImage decodeJpeg2000(const std::uint8_t* data, std::size_t size)
{
    if (size < 12)
        throw std::runtime_error("JPEG 2000 data of " + std::to_string(size) + " bytes");
    static const std::uint8_t jp2[12] = {0, 0, 0, 0x0c, 'j', 'P', ' ', ' ', 0x0d, 0x0a, 0x87, 0x0a};
    const bool isJp2 = std::memcmp(data, jp2, 12) == 0;
    std::unique_ptr<opj_codec_t, void (*)(opj_codec_t*)> codec(opj_create_decompress(isJp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K),
                                                               opj_destroy_codec);
    std::string error;
    opj_set_error_handler(codec.get(), errorFn, &error);
    opj_set_warning_handler(codec.get(), quietFn, nullptr);
    opj_set_info_handler(codec.get(), quietFn, nullptr);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(codec.get(), &params))
        throw std::runtime_error("OpenJPEG setup failed");
    Buffer buf{data, size, 0};
    std::unique_ptr<opj_stream_t, void (*)(opj_stream_t*)> stream(opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE),
                                                                  opj_stream_destroy);
    opj_stream_set_user_data(stream.get(), &buf, nullptr);
    opj_stream_set_user_data_length(stream.get(), size);
    opj_stream_set_read_function(stream.get(), readFn);
    opj_stream_set_skip_function(stream.get(), skipFn);
    opj_stream_set_seek_function(stream.get(), seekFn);
    opj_image_t* raw = nullptr;
    if (!opj_read_header(stream.get(), codec.get(), &raw))
        throw std::runtime_error("JPEG 2000 header: " + (error.empty() ? std::string("unreadable") : error));
    std::unique_ptr<opj_image_t, void (*)(opj_image_t*)> image(raw, opj_image_destroy);
    if (!opj_decode(codec.get(), stream.get(), image.get()) || !opj_end_decompress(codec.get(), stream.get()))
        throw std::runtime_error("JPEG 2000 decode: " + (error.empty() ? std::string("failed") : error));
    J2kImage out;
    out.components = int(image->numcomps);
    if (out.components < 1 || out.components > 4)
        throw std::runtime_error("JPEG 2000 with " + std::to_string(out.components) + " components");
    const opj_image_comp_t& c0 = image->comps[0];
    out.width = int(c0.w);
    out.height = int(c0.h);
    out.precision = int(c0.prec);
    out.isSigned = c0.sgnd != 0;
    for (int c = 1; c < out.components; ++c)
        if (image->comps[c].w != c0.w || image->comps[c].h != c0.h)
            throw std::runtime_error("JPEG 2000 with subsampled components is not supported");
    const std::size_t pixels = std::size_t(out.width) * std::size_t(out.height);
    out.samples.resize(pixels * std::size_t(out.components));
    for (int c = 0; c < out.components; ++c) {
        const OPJ_INT32* src = image->comps[c].data;
        if (!src)
            throw std::runtime_error("JPEG 2000 decode produced no data");
        for (std::size_t p = 0; p < pixels; ++p)
            out.samples[p * std::size_t(out.components) + std::size_t(c)] = src[p];
    }
    return out;
}

}  // namespace camsight::dicom
