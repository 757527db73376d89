using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

using Tempo.Engine;

namespace Tempo.Simulation.Profiles;

/// <summary>
/// The iteration-latency coefficients and KV capacity of one (model, GPU) pair: the data behind
/// <see cref="CostModel"/> (evaluation note C.4–C.5, docs/PROFILES.md). Profiles are JSON with snake_case keys, for example
/// <c>"num_layers": 32</c>; unknown keys are errors, <c>//</c> comments and trailing commas are allowed. See
/// <c>docs/PROFILES.md</c> for every field. Two profiles are built in (<see cref="BuiltInNames"/>).
/// </summary>
/// <remarks>
/// One iteration costs, in milliseconds,
/// <c>T_lin(N) + L·(a_d + b_d·ΣK_d)·(g if B_d &gt; 1) + Σ_j L·(a_p + β_p·c_j + g_p·(c_j·k_j + c_j²/2)) + L·s·Σc_j
/// + t_fixed + o·outputs + swap·blocks</c>, where the decode term applies only when B_d &gt; 0.
/// </remarks>
public sealed record CostProfile
{
    /// <summary>Name of the default built-in profile (Llama-3.1-8B on A100-80GB).</summary>
    public const string DefaultName = "llama3.1-8b-a100";

    private const string ResourcePrefix = "Tempo.Simulation.Profiles.";

    /// <summary>Profile name (built-in profiles are loaded by it).</summary>
    public required string Name { get; init; }

    /// <summary>One line describing the setting.</summary>
    public string Description { get; init; } = "";

    /// <summary>Model the coefficients describe.</summary>
    public string Model { get; init; } = "";

    /// <summary>Accelerator the coefficients describe.</summary>
    public string Gpu { get; init; } = "";

    /// <summary>Transformer layers L (attention terms are per layer).</summary>
    public required int NumLayers { get; init; }

    /// <summary>
    /// T_lin(N): pairs <c>[N tokens, ms]</c> with N strictly increasing, the time of all token-level (linear)
    /// ops of one iteration over N tokens, all layers together. Linearly interpolated between points, held at
    /// the first value below the first point and extrapolated with the last segment's slope above the last.
    /// </summary>
    public required double[][] LinearMs { get; init; }

    /// <summary>a_d: decode attention intercept, ms per layer.</summary>
    public required double DecodeAttnAMs { get; init; }

    /// <summary>b_d: decode attention, ms per context token of the decode batch per layer.</summary>
    public required double DecodeAttnBMs { get; init; }

    /// <summary>
    /// True when decode attention costs as if every decoding sequence had the longest context of the batch (ΣK_d is
    /// replaced by B_d × max K): engines that pad a batch's attention to its longest sequence, as llama.cpp does with one
    /// KV slice per sequence. False (default) is paged attention, where each sequence reads only its own context.
    /// </summary>
    public bool DecodeAttnPadded { get; init; }

    /// <summary>Factor on decode attention when more than one sequence decodes (Vidur's GQA batching overhead, 1.1).</summary>
    public double GqaBatchFactor { get; init; } = 1.1;

    /// <summary>a_p: prefill attention intercept, ms per chunk per layer.</summary>
    public required double PrefillAttnAMs { get; init; }

    /// <summary>β_p: prefill attention, ms per chunk token per layer.</summary>
    public required double PrefillAttnBetaMs { get; init; }

    /// <summary>g_p: prefill attention, ms per query–key pair (c·k + c²/2) per layer.</summary>
    public required double PrefillAttnGMs { get; init; }

    /// <summary>s: optional KV-cache save cost, ms per prefill token per layer (0 = omitted).</summary>
    public double KvSaveMs { get; init; }

    /// <summary>t_fixed: per-iteration overhead outside the layers (LM head, sampling, framework), ms.</summary>
    public required double FixedMs { get; init; }

    /// <summary>
    /// Cost of each sampled output token (LM head over the vocabulary plus sampling), ms. Zero on GPUs, where the LM
    /// head is memory-bound and folded into <see cref="FixedMs"/>; on a CPU it is compute-bound, so a step costs it
    /// once per sequence that samples (calibrated profiles fit it).
    /// </summary>
    public double OutputMs { get; init; }

    /// <summary>Time to move one KV block between GPU and CPU memory, ms (swap-out and swap-in alike).</summary>
    public required double SwapMsPerBlock { get; init; }

    /// <summary>KV blocks on the GPU.</summary>
    public required int KvGpuBlocks { get; init; }

    /// <summary>KV blocks of CPU swap space.</summary>
    public required int KvCpuBlocks { get; init; }

    /// <summary>Tokens per KV block.</summary>
    public int BlockSize { get; init; } = 16;

    /// <summary>Longest context (prompt + output) the model accepts.</summary>
    public int MaxModelLen { get; init; } = 8192;

    /// <summary>Free text: where the numbers come from and how the fixed overhead was calibrated.</summary>
    public string Calibration { get; init; } = "";

    /// <summary>Names of the built-in profiles.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = FindBuiltIns();

    /// <summary>The default profile (<see cref="DefaultName"/>).</summary>
    public static CostProfile Default => Load(DefaultName);

    /// <summary>
    /// Loads a built-in profile by name (case-insensitive) or a profile JSON file by path. Throws
    /// <see cref="ArgumentException"/> when <paramref name="nameOrPath"/> is neither, and
    /// <see cref="FormatException"/> when the file is malformed or its values are invalid.
    /// </summary>
    public static CostProfile Load(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var builtIn = BuiltInNames.FirstOrDefault(n => string.Equals(n, nameOrPath.Trim(), StringComparison.OrdinalIgnoreCase));
        if (builtIn is not null)
        {
            using var stream = typeof(CostProfile).Assembly.GetManifestResourceStream(ResourcePrefix + builtIn + ".json")!;
            return Parse(stream, $"built-in cost profile '{builtIn}'");
        }

        if (!File.Exists(nameOrPath))
        {
            throw new ArgumentException($"unknown cost profile '{nameOrPath}': not a built-in name ({string.Join(", ", BuiltInNames)}) nor an existing file");
        }

        using var file = File.OpenRead(nameOrPath);
        return Parse(file, $"cost profile file '{nameOrPath}'");
    }

    /// <summary>Parses and validates profile JSON; <paramref name="source"/> names it in error messages.</summary>
    public static CostProfile Parse(Stream json, string source = "cost profile")
    {
        CostProfile? profile;
        try
        {
            profile = JsonSerializer.Deserialize(json, CostProfileJson.Default.CostProfile);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: invalid JSON: {OneLine(e.Message)}", e);
        }

        if (profile is null)
        {
            throw new FormatException($"{source}: the JSON is null, expected an object");
        }

        try
        {
            profile.Validate();
        }
        catch (ArgumentException e)
        {
            throw new FormatException($"{source}: {e.Message}", e);
        }

        return profile;
    }

    /// <summary>Writes the profile as indented JSON to <paramref name="path"/>; <see cref="Load"/> reads it back unchanged.</summary>
    public void Save(string path)
    {
        Validate();

        // Whole or not at all: a calibration that fails while writing must not leave a truncated profile behind.
        Reports.AtomicFile.Write(path, staging =>
        {
            using var file = File.Create(staging);
            JsonSerializer.Serialize(file, this, CostProfileJson.Default.CostProfile);
        });
    }

    /// <summary>The profile as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, CostProfileJson.Default.CostProfile);

    /// <summary>Engine limits for this profile's KV capacity and context length, with the given batch cap and token budget.</summary>
    public EngineConfig ToEngineConfig(int maxBatch, int tokenBudget) => new()
    {
        MaxBatch = maxBatch,
        TokenBudget = tokenBudget,
        BlockSize = BlockSize,
        GpuBlocks = KvGpuBlocks,
        CpuBlocks = KvCpuBlocks,
        MaxModelLen = MaxModelLen,
    };

    /// <summary>Throws <see cref="ArgumentException"/> with a one-line message naming the first invalid field.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(Name), "name must not be empty");
        Require(NumLayers > 0, $"num_layers must be positive, got {NumLayers}");
        Require(LinearMs is { Length: > 0 }, "linear_ms must hold at least one [tokens, ms] point");
        for (var i = 0; i < LinearMs.Length; i++)
        {
            var p = LinearMs[i];
            Require(p is { Length: 2 }, $"linear_ms[{i}] must be a [tokens, ms] pair");
            Require(double.IsFinite(p[0]) && p[0] >= 0, $"linear_ms[{i}] tokens must be a finite non-negative number, got {Fmt(p[0])}");
            Require(double.IsFinite(p[1]) && p[1] >= 0, $"linear_ms[{i}] ms must be a finite non-negative number, got {Fmt(p[1])}");
            if (i > 0 && !(p[0] > LinearMs[i - 1][0]))
            {
                throw new ArgumentException($"linear_ms tokens must increase strictly, but point {i} ({Fmt(p[0])}) follows {Fmt(LinearMs[i - 1][0])}");
            }
        }

        NonNegative(DecodeAttnAMs, "decode_attn_a_ms");
        NonNegative(DecodeAttnBMs, "decode_attn_b_ms");
        NonNegative(GqaBatchFactor, "gqa_batch_factor");
        NonNegative(PrefillAttnAMs, "prefill_attn_a_ms");
        NonNegative(PrefillAttnBetaMs, "prefill_attn_beta_ms");
        NonNegative(PrefillAttnGMs, "prefill_attn_g_ms");
        NonNegative(KvSaveMs, "kv_save_ms");
        NonNegative(FixedMs, "fixed_ms");
        NonNegative(OutputMs, "output_ms");
        NonNegative(SwapMsPerBlock, "swap_ms_per_block");
        Require(KvGpuBlocks > 0, $"kv_gpu_blocks must be positive, got {KvGpuBlocks}");
        Require(KvCpuBlocks >= 0, $"kv_cpu_blocks cannot be negative, got {KvCpuBlocks}");
        Require(BlockSize > 0, $"block_size must be positive, got {BlockSize}");
        Require(MaxModelLen > 1, $"max_model_len must exceed 1, got {MaxModelLen}");
    }

    private static void NonNegative(double value, string field) =>
        Require(double.IsFinite(value) && value >= 0, $"{field} must be a finite non-negative number, got {Fmt(value)}");

    private static void Require(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }

    private static string Fmt(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private static string[] FindBuiltIns() =>
        [.. typeof(CostProfile).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".json", StringComparison.Ordinal))
            .Select(n => n[ResourcePrefix.Length..^".json".Length])
            .Order(StringComparer.Ordinal)];
}

/// <summary>Source-generated JSON metadata for <see cref="CostProfile"/> (snake_case, strict about unknown keys).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(CostProfile))]
internal sealed partial class CostProfileJson : JsonSerializerContext;
