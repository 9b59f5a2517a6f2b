// camsight-cli clip and text-segment: CLIP's tokenizer and encoders, and text prompts to SAM masks.

// Local
#include "app/cli/Arrays.h"
#include "app/cli/Command.h"
#include "app/cli/Images.h"
#include "app/cli/Json.h"
#include "core/io/Npy.h"
#include "core/ml/Clip.h"
#include "core/ml/TextSegment.h"
#include "core/text/ClipTokenizer.h"

// Std
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace camsight::cli {
namespace {

namespace fs = std::filesystem;

std::string jsonInts(const std::vector<std::int64_t>& v)
{
    std::ostringstream s;
    s << '[';
    for (std::size_t i = 0; i < v.size(); ++i)
        s << (i ? ", " : "") << v[i];
    s << ']';
    return s.str();
}

int runClip(const Args& args)
{
    const int modes = int(args.has("tokenize")) + int(args.has("encode-text")) + int(args.has("encode-image"));
    if (modes != 1)
        throw UsageError("give exactly one of --tokenize TEXT, --encode-text TEXT, --encode-image IMG");
    if (args.has("tokenize")) {
        const auto tok = text::ClipTokenizer::load(args.value("vocab"));
        const std::string t = args.value("tokenize");
        const auto ids = tok.tokenize(t, std::stoi(args.value("context-length", "77")));
        std::cout << "{\"text\": " << jsonString(t) << ", \"cleaned\": " << jsonString(text::ClipTokenizer::clean(t))
                  << ", \"tokens\": " << jsonInts(ids) << "}\n";
        return 0;
    }
    const ml::ClipModel model = ml::ClipModel::load(args.value("model"));
    ml::FloatArray features;
    if (args.has("encode-text")) {
        const auto tok = text::ClipTokenizer::load(args.value("vocab"));
        features = model.encodeText(tok.tokenize(args.value("encode-text"), model.config().contextLength));
    } else {
        features = model.encodeImage(model.preprocess(readImage(args.value("encode-image"))));
    }
    if (args.has("out"))
        saveArray(args.value("out"), features);
    std::cout << "{\"model\": " << jsonString(args.value("model")) << ", \"form\": " << jsonString(model.form())
              << ", \"embed_dim\": " << model.config().embedDim << ", \"features\": " << jsonNumbers(features.data)
              << "}\n";
    return 0;
}

// One method's result as a JSON object (without the braces' neighbours).
std::string resultJson(const ml::TextSegmentResult& r, ml::TextSegmentMethod method)
{
    std::ostringstream j;
    j << "{\"seconds\": " << jsonNumber(r.seconds) << ", \"proposals\": " << r.proposals << ", \"masks\": [";
    for (std::size_t i = 0; i < r.masks.size(); ++i) {
        const auto& m = r.masks[i];
        j << (i ? ", " : "") << "{\"text_probability\": " << jsonNumber(m.textProbability)
          << ", \"predicted_iou\": " << jsonNumber(m.predictedIou) << ", \"bbox\": ["
          << m.bbox[0] << ", " << m.bbox[1] << ", " << m.bbox[2] << ", " << m.bbox[3] << "], \"point\": ["
          << jsonNumber(m.point[0]) << ", " << jsonNumber(m.point[1]) << "]}";
    }
    j << "]";
    if (method == ml::TextSegmentMethod::Similarity)
        j << ", \"prompt_box\": [" << r.promptBox[0] << ", " << r.promptBox[1] << ", " << r.promptBox[2] << ", "
          << r.promptBox[3] << "]";
    j << "}";
    return j.str();
}

void writeMasks(const fs::path& file, const ml::TextSegmentResult& r, const ml::RgbImage& image)
{
    std::vector<std::uint8_t> all;
    for (const auto& m : r.masks)
        all.insert(all.end(), m.mask.begin(), m.mask.end());
    io::writeNpy(file.string(), all.data(), {r.masks.size(), std::size_t(image.height), std::size_t(image.width)});
}

int runTextSegment(const Args& args)
{
    ml::TextSegmentOptions o;
    const std::string method = args.value("method", "clipsam");
    if (method != "clipsam" && method != "similarity" && method != "both")
        throw UsageError("--method is clipsam, similarity or both, got '" + method + "'");
    o.topK = std::stoi(args.value("top", "3"));
    o.autoMask.pointsPerSide = std::stoi(args.value("points-per-side", "32"));
    if (args.has("pred-iou-thresh"))
        o.autoMask.predIouThresh = std::stod(args.value("pred-iou-thresh"));
    if (args.has("stability-thresh"))
        o.autoMask.stabilityScoreThresh = std::stod(args.value("stability-thresh"));
    o.autoMask.minMaskRegionArea = std::stoi(args.value("min-region-area", "0"));
    if (o.topK < 1)
        throw UsageError("--top must be at least 1");
    const fs::path out = args.value("out");
    const ml::RgbImage image = readImage(args.value("image"));
    const ml::SamModel sam = ml::SamModel::load(args.value("sam"));
    const ml::ClipModel clip = ml::ClipModel::load(args.value("clip"));
    const auto tok = text::ClipTokenizer::load(args.value("vocab"));
    const auto run = [&](ml::TextSegmentMethod m) {
        ml::TextSegmentOptions mo = o;
        mo.method = m;
        return ml::segmentByText(sam, clip, tok, image, args.value("text"), mo);
    };
    fs::create_directories(out);
    std::ostringstream j;
    j << "{\"text\": " << jsonString(args.value("text")) << ", \"method\": " << jsonString(method)
      << ", \"image\": [" << image.width << ", " << image.height << "]";
    if (method == "both") {
        // Both methods on the same image and text, and how far their best masks agree.
        const ml::TextSegmentResult a = run(ml::TextSegmentMethod::ClipSam), b = run(ml::TextSegmentMethod::Similarity);
        writeMasks(out / "masks.npy", a, image);
        writeMasks(out / "similarity_masks.npy", b, image);
        saveArray(out / "similarity.npy", b.similarity);
        j << ", \"clipsam\": " << resultJson(a, ml::TextSegmentMethod::ClipSam)
          << ", \"similarity\": " << resultJson(b, ml::TextSegmentMethod::Similarity) << ", \"agreement\": ";
        if (a.masks.empty() || b.masks.empty()) {
            j << "null";
        } else {
            std::size_t inter = 0, sa = 0, sb = 0;
            const auto& ma = a.masks[0].mask;
            const auto& mb = b.masks[0].mask;
            for (std::size_t i = 0; i < ma.size(); ++i) {
                inter += ma[i] && mb[i];
                sa += ma[i] != 0;
                sb += mb[i] != 0;
            }
            const double uni = double(sa + sb - inter);
            const double iou = uni > 0 ? double(inter) / uni : 1.0;
            const double dice = sa + sb > 0 ? 2.0 * double(inter) / double(sa + sb) : 1.0;
            j << "{\"iou\": " << jsonNumber(iou) << ", \"dice\": " << jsonNumber(dice)
              << ", \"agree\": " << (iou >= 0.5 ? "true" : "false") << "}";
        }
    } else {
        const ml::TextSegmentMethod m = method == "clipsam" ? ml::TextSegmentMethod::ClipSam : ml::TextSegmentMethod::Similarity;
        const ml::TextSegmentResult r = run(m);
        writeMasks(out / "masks.npy", r, image);
        if (!r.similarity.empty())
            saveArray(out / "similarity.npy", r.similarity);
        // The single method's fields at the top level.
        const std::string body = resultJson(r, m);
        j << ", " << body.substr(1, body.size() - 2);
    }
    j << "}\n";
    std::ofstream scores(out / "scores.json");
    scores << j.str();
    if (!scores)
        throw std::runtime_error((out / "scores.json").string() + ": cannot write");
    std::cout << j.str();
    return 0;
}

}  // namespace

Command clipCommand()
{
    return {"clip",
            "CLIP: tokenize a text (JSON), or encode a text or an image (features as JSON, and .npy with --out)",
            "--vocab V (--tokenize TEXT | --model F --encode-text TEXT | --model F --encode-image IMG) [--out F.npy]",
            {{"model", true, "OpenAI CLIP: TorchScript archive (encode_image/encode_text) or state_dict", "F"},
             {"vocab", true, "CLIP's BPE merge list, bpe_simple_vocab_16e6.txt.gz", "V"},
             {"tokenize", true, "print the 77 token ids of TEXT", "TEXT"},
             {"context-length", true, "tokens per text for --tokenize (default 77)", "N"},
             {"encode-text", true, "text features of TEXT", "TEXT"},
             {"encode-image", true, "image features of IMG (.npy, PNG, JPEG)", "IMG"},
             {"out", true, "write the features as float32 .npy", "F.npy"}},
            runClip};
}

Command textSegmentCommand()
{
    return {"text-segment",
            "Masks for a typed text: SAM proposals scored by CLIP (clipsam) or CLIP patch similarity prompting SAM "
            "(similarity); writes masks.npy and scores.json",
            "--sam S --clip C --vocab V --image IMG --text \"...\" [--method clipsam|similarity|both] [--top K] --out DIR",
            {{"sam", true, "SAM, MobileSAM or MedSAM checkpoint", "S"},
             {"clip", true, "OpenAI CLIP (TorchScript archive or state_dict)", "C"},
             {"vocab", true, "CLIP's BPE merge list, bpe_simple_vocab_16e6.txt.gz", "V"},
             {"image", true, ".npy (uint8 H x W x 3 or H x W), PNG or JPEG", "IMG"},
             {"text", true, "what to look for, e.g. \"nodule in the left lung\"", "TEXT"},
             {"method", true, "clipsam (default), similarity, or both (and how far their best masks agree)", "M"},
             {"top", true, "masks kept by clipsam, best first (default 3)", "K"},
             {"points-per-side", true, "automatic mask generation grid (default 32)", "N"},
             {"pred-iou-thresh", true, "automatic masks: minimum predicted IoU (default 0.88)", "T"},
             {"stability-thresh", true, "automatic masks: minimum stability score (default 0.95)", "T"},
             {"min-region-area", true, "automatic masks: remove holes and islands smaller than this (default 0)", "A"},
             {"out", true, "output folder", "DIR"}},
            runTextSegment};
}

}  // namespace camsight::cli
