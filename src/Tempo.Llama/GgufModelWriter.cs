using System.Buffers.Binary;
using System.Text;

namespace Tempo.Llama;

/// <summary>
/// Writes a random-weight llama-architecture model in GGUF v3, the file format llama.cpp (and so LLamaSharp)
/// loads. The text it generates is gibberish, but every step is real transformer compute, so tests and
/// benchmarks can exercise the real engine without downloading a model. The bytes depend only on the options.
/// </summary>
public static class GgufModelWriter
{
    private const uint Version = 3;
    private const int Alignment = 32;
    private const int Q8Block = 32;

    // GGUF metadata value types.
    private const uint U32 = 4;
    private const uint I32 = 5;
    private const uint F32 = 6;
    private const uint Bool = 7;
    private const uint Str = 8;
    private const uint Arr = 9;

    /// <summary>Writes the model to <paramref name="path"/> (through a temporary file, so a reader never sees half a model).</summary>
    public static void Write(string path, GgufModelOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        options.Validate();
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } dir && !Directory.Exists(dir))
        {
            throw new DirectoryNotFoundException($"folder not found: {dir}");
        }

        var temp = full + ".tmp";
        try
        {
            using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(file, options);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>Writes the model to a stream.</summary>
    public static void Write(Stream stream, GgufModelOptions options)
    {
        options.Validate();
        var tensors = Tensors(options);
        var metadata = Metadata(options);
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);

        w.Write("GGUF"u8);
        w.Write(Version);
        w.Write((ulong)tensors.Count);
        w.Write((ulong)metadata.Count);
        foreach (var (key, write) in metadata)
        {
            WriteString(w, key);
            write(w);
        }

        ulong offset = 0;
        foreach (var t in tensors)
        {
            WriteString(w, t.Name);
            w.Write((uint)t.Dims.Length);
            foreach (var d in t.Dims)
            {
                w.Write((ulong)d);
            }

            w.Write(GgmlType(t.Type));
            w.Write(offset);
            offset += (ulong)Padded(t.ByteSize);
        }

        w.Flush();
        Pad(w, stream.Position);
        for (var i = 0; i < tensors.Count; i++)
        {
            WriteData(w, tensors[i], options.Seed, i);
            Pad(w, tensors[i].ByteSize);
        }

        w.Flush();
    }

    private sealed record Tensor(string Name, long[] Dims, GgufWeightType Type, bool IsNorm)
    {
        public long Elements => Dims.Aggregate(1L, (a, b) => a * b);

        public long ByteSize => Type switch
        {
            GgufWeightType.F32 => Elements * 4,
            GgufWeightType.F16 => Elements * 2,
            _ => Elements / Q8Block * (2 + Q8Block),
        };
    }

    private static List<Tensor> Tensors(GgufModelOptions o)
    {
        long e = o.Embedding, v = o.Vocabulary, f = o.FeedForwardWidth;
        var type = o.Type;

        // Dimensions are innermost first, as ggml stores them: a [n_in, n_out] matrix has n_out rows of n_in.
        var list = new List<Tensor>
        {
            new("token_embd.weight", [e, v], type, false),
            new("output_norm.weight", [e], GgufWeightType.F32, true),
            new("output.weight", [e, v], type, false),
        };
        for (var i = 0; i < o.Layers; i++)
        {
            var p = $"blk.{i}.";
            list.Add(new(p + "attn_norm.weight", [e], GgufWeightType.F32, true));
            list.Add(new(p + "attn_q.weight", [e, e], type, false));
            list.Add(new(p + "attn_k.weight", [e, e], type, false));
            list.Add(new(p + "attn_v.weight", [e, e], type, false));
            list.Add(new(p + "attn_output.weight", [e, e], type, false));
            list.Add(new(p + "ffn_norm.weight", [e], GgufWeightType.F32, true));
            list.Add(new(p + "ffn_gate.weight", [e, f], type, false));
            list.Add(new(p + "ffn_up.weight", [e, f], type, false));
            list.Add(new(p + "ffn_down.weight", [f, e], type, false));
        }

        return list;
    }

    private static List<(string Key, Action<BinaryWriter> Write)> Metadata(GgufModelOptions o)
    {
        var (pieces, types, scores) = GgufVocabulary.Create(o.Vocabulary);
        var fileType = o.Type switch
        {
            GgufWeightType.F32 => 0u,
            GgufWeightType.F16 => 1u,
            _ => 7u, // llama.cpp's "mostly Q8_0"
        };
        List<(string Key, Action<BinaryWriter> Write)> metadata =
        [
            ("general.architecture", w => Value(w, "llama")),
            ("general.name", w => Value(w, $"tempo-random-{o.Layers}x{o.Embedding}-{o.Type.ToString().ToLowerInvariant()}")),
            ("general.file_type", w => Value(w, fileType)),
            ("general.alignment", w => Value(w, (uint)Alignment)),
            ("llama.context_length", w => Value(w, (uint)o.Context)),
            ("llama.embedding_length", w => Value(w, (uint)o.Embedding)),
            ("llama.block_count", w => Value(w, (uint)o.Layers)),
            ("llama.feed_forward_length", w => Value(w, (uint)o.FeedForwardWidth)),
            ("llama.attention.head_count", w => Value(w, (uint)o.HeadCount)),
            ("llama.attention.head_count_kv", w => Value(w, (uint)o.HeadCount)),
            ("llama.rope.dimension_count", w => Value(w, (uint)(o.Embedding / o.HeadCount))),
            ("llama.rope.freq_base", w => Value(w, 10_000f)),
            ("llama.attention.layer_norm_rms_epsilon", w => Value(w, 1e-5f)),
            ("llama.vocab_size", w => Value(w, (uint)o.Vocabulary)),
            ("tokenizer.ggml.model", w => Value(w, "llama")),
            ("tokenizer.ggml.tokens", w =>
            {
                ArrayHeader(w, Str, pieces.Length);
                foreach (var p in pieces)
                {
                    WriteString(w, p);
                }
            }),
            ("tokenizer.ggml.scores", w =>
            {
                ArrayHeader(w, F32, scores.Length);
                foreach (var s in scores)
                {
                    w.Write(s);
                }
            }),
            ("tokenizer.ggml.token_type", w =>
            {
                ArrayHeader(w, I32, types.Length);
                foreach (var t in types)
                {
                    w.Write(t);
                }
            }),
            ("tokenizer.ggml.unknown_token_id", w => Value(w, (uint)GgufVocabulary.Unknown)),
            ("tokenizer.ggml.bos_token_id", w => Value(w, (uint)GgufVocabulary.Bos)),
            ("tokenizer.ggml.eos_token_id", w => Value(w, (uint)GgufVocabulary.Eos)),
            ("tokenizer.ggml.add_bos_token", w => Value(w, true)),
            ("tokenizer.ggml.add_eos_token", w => Value(w, false)),
        ];
        if (o.ChatTemplate is { } template)
        {
            metadata.Add(("tokenizer.chat_template", w => Value(w, template)));
        }

        return metadata;
    }

    private static void WriteData(BinaryWriter w, Tensor t, ulong seed, int index)
    {
        if (t.IsNorm)
        {
            // RMS-norm gains of 1 leave the normalised activations at unit scale.
            for (var i = 0L; i < t.Elements; i++)
            {
                w.Write(1f);
            }

            return;
        }

        // Uniform weights with variance 1/fan_in keep activations at unit scale through every layer, so the
        // logits stay finite and the argmax is well defined. Each tensor has its own stream, so its bytes do
        // not depend on the order tensors are written in.
        var rng = new SplitMix64(seed ^ (0x9E3779B97F4A7C15UL * (ulong)(index + 1)));
        var fanIn = t.Dims[0];
        var limit = (float)Math.Sqrt(3.0 / fanIn);
        var row = new float[fanIn];
        var rowBytes = new byte[t.ByteSize / (t.Elements / fanIn)];
        var rows = t.Elements / fanIn;
        for (var r = 0L; r < rows; r++)
        {
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = limit * ((2 * rng.NextFloat()) - 1);
            }

            Encode(row, t.Type, rowBytes);
            w.Write(rowBytes);
        }
    }

    /// <summary>Encodes one row of weights in the tensor's storage type.</summary>
    internal static void Encode(ReadOnlySpan<float> row, GgufWeightType type, Span<byte> into)
    {
        switch (type)
        {
            case GgufWeightType.F32:
                for (var i = 0; i < row.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(into[(4 * i)..], row[i]);
                }

                break;
            case GgufWeightType.F16:
                for (var i = 0; i < row.Length; i++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(into[(2 * i)..], (Half)row[i]);
                }

                break;
            default:
                // Q8_0: per block of 32 values, one F16 scale d = max|x| / 127, then round(x / d) as signed bytes.
                for (int b = 0, o = 0; b < row.Length; b += Q8Block, o += 2 + Q8Block)
                {
                    var block = row.Slice(b, Q8Block);
                    var max = 0f;
                    foreach (var x in block)
                    {
                        max = Math.Max(max, Math.Abs(x));
                    }

                    var d = max / 127f;
                    var inverse = d > 0 ? 1f / d : 0f;
                    BinaryPrimitives.WriteHalfLittleEndian(into[o..], (Half)d);
                    for (var i = 0; i < Q8Block; i++)
                    {
                        into[o + 2 + i] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(block[i] * inverse), -127f, 127f));
                    }
                }

                break;
        }
    }

    private static uint GgmlType(GgufWeightType type) => type switch
    {
        GgufWeightType.F32 => 0,
        GgufWeightType.F16 => 1,
        _ => 8,
    };

    private static long Padded(long size) => (size + Alignment - 1) / Alignment * Alignment;

    private static void Pad(BinaryWriter w, long written)
    {
        var pad = (int)(Padded(written) - written);
        if (pad > 0)
        {
            w.Write(new byte[pad]);
        }
    }

    private static void WriteString(BinaryWriter w, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        w.Write((ulong)bytes.Length);
        w.Write(bytes);
    }

    private static void ArrayHeader(BinaryWriter w, uint elementType, int count)
    {
        w.Write(Arr);
        w.Write(elementType);
        w.Write((ulong)count);
    }

    private static void Value(BinaryWriter w, string s)
    {
        w.Write(Str);
        WriteString(w, s);
    }

    private static void Value(BinaryWriter w, uint x)
    {
        w.Write(U32);
        w.Write(x);
    }

    private static void Value(BinaryWriter w, float x)
    {
        w.Write(F32);
        w.Write(x);
    }

    private static void Value(BinaryWriter w, bool x)
    {
        w.Write(Bool);
        w.Write(x);
    }

    /// <summary>A small, fast generator whose sequence is fixed by its seed on every platform and runtime.</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1) with 24 bits of precision.</summary>
        public float NextFloat() => (Next() >> 40) * (1f / (1 << 24));
    }
}
