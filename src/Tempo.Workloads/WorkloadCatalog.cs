using System.Text;

namespace Tempo.Workloads;

/// <summary>A built-in workload: its name and a one-line description.</summary>
/// <param name="Name">Name accepted by <see cref="WorkloadCatalog.Create"/>.</param>
/// <param name="Description">One line for help texts.</param>
public sealed record WorkloadDescription(string Name, string Description);

/// <summary>
/// Entry point for workloads: built-in generators by name, or files by extension (<c>.jsonl</c> Tempo's format,
/// <c>.csv</c> the Azure LLM inference trace format). docs/WORKLOADS.md describes every one.
/// </summary>
public static class WorkloadCatalog
{
    /// <summary>Default rate of the synthetic chat workloads: the artifact's e2e/timeline setting, 6 arrivals/s.</summary>
    public const double DefaultRate = 6.0;

    /// <summary>Default rate of <c>prefill-heavy</c>: about the knee of the A100 profile under sarathi (it keeps ≈96% at 2/s and falls to ≈46% at 4/s).</summary>
    public const double DefaultPrefillHeavyRate = 3.0;

    /// <summary>Default rate of <c>decode-heavy</c>: near the A100 profile's capacity: 32 running streams of ≈1,500 tokens at ≈25 ms a step serve ≈0.85 requests/s.</summary>
    public const double DefaultDecodeHeavyRate = 0.75;

    /// <summary>Default rate of <c>agent-heavy</c> (half the arrivals are jobs of 4–11 calls): about the knee, where sarathi falls from ≈82% at 1/s to ≈16% at 2/s.</summary>
    public const double DefaultAgentHeavyRate = 1.2;

    /// <summary>
    /// Deadline multiplier of <c>decode-heavy</c>: its median output is about 5× the chat median, so its
    /// end-to-end deadlines (and job deadlines) are 5× the base TTLT; TTFT and TBT are unchanged.
    /// </summary>
    public const double DecodeHeavyDeadlineFactor = 5.0;

    /// <summary>
    /// Class weights of <c>agent-heavy</c>: collective weight 14 is 14/7 = 2 after the /7, so jobs make half the
    /// top-level arrivals and latency and throughput a quarter each.
    /// </summary>
    public static readonly ClassRatio AgentHeavyRatio = new(1, 1, 14);

    /// <summary>Default rate of the deep-research-only workload: the artifact's 0.34–0.38 collections/s sweep.</summary>
    public const double DefaultDeepResearchRate = 0.35;

    /// <summary>Default rate of the tree-of-thought-only workload (8 calls per job).</summary>
    public const double DefaultTreeOfThoughtRate = 1.0;

    private const string AzureResource = "Tempo.Data.azure-llm-2023.conv.csv";

    private static readonly Lazy<TraceRows> AzureConv = new(() =>
    {
        using var stream = typeof(WorkloadCatalog).Assembly.GetManifestResourceStream(AzureResource)
            ?? throw new InvalidOperationException("the embedded Azure conversation trace is missing from the build");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return AzureTrace.Parse(reader, "conv.csv");
    });

    private static readonly (WorkloadDescription Description, Func<WorkloadOptions, Workload> Create)[] BuiltIns =
    [
        (new("mixed", "reference mix (A.3): latency, throughput and collective 1:1:1/7 by arrivals, collective half tree-of-thought, half deep research; 6/s"),
            o => SyntheticWorkload.Generate("mixed", o, o.Ratio, o.TotFraction, DefaultRate)),
        (new("azure-conv", "replay of the Azure LLM 2023 conversation trace (19,366 rows, CC-BY 4.0), classes assigned by the ratio; own timing unless --rate"),
            o => AzureTrace.Replay(AzureConv.Value, "azure-conv", o)),
        (new("prefill-heavy", "retrieval and code completion: prompts median 2k tokens (tail to 8k), outputs median 20; classes by the ratio; 3/s"),
            o => SyntheticWorkload.Generate("prefill-heavy", o, o.Ratio, o.TotFraction, DefaultPrefillHeavyRate, LengthShape.PrefillHeavy)),
        (new("decode-heavy", "reasoning: short prompts, outputs median 1k tokens (tail to 8k), deadlines 5x the base; classes by the ratio; 0.75/s"),
            o => SyntheticWorkload.Generate("decode-heavy", DecodeHeavy(o), o.Ratio, o.TotFraction, DefaultDecodeHeavyRate, LengthShape.DecodeHeavy)),
        (new("agent-heavy", "the mix with collective jobs as half the arrivals (ratio 1:1:14), chat lengths; 1.2/s"),
            o => SyntheticWorkload.Generate("agent-heavy", o, AgentHeavyRatio, o.TotFraction, DefaultAgentHeavyRate)),
        (new("chat", "latency-only streaming chat with synthetic LMSYS-like lengths and prompt text; 6/s"),
            o => SyntheticWorkload.Generate("chat", o, new ClassRatio(1, 0, 0), 0, DefaultRate)),
        (new("throughput", "throughput-only (end-to-end deadline) requests with synthetic chat lengths; 6/s"),
            o => SyntheticWorkload.Generate("throughput", o, new ClassRatio(0, 1, 0), 0, DefaultRate)),
        (new("tot", "collective-only tree-of-thought jobs, 8 calls in stages [3,1,3,1], max 256 tokens each; 1 job/s"),
            o => SyntheticWorkload.Generate("tot", o, new ClassRatio(0, 0, 1), 1, DefaultTreeOfThoughtRate)),
        (new("deep-research", "collective-only recorded deep-research jobs (test split of jobs.jsonl, 4-11 calls); 0.35 jobs/s"),
            o => SyntheticWorkload.Generate("deep-research", o, new ClassRatio(0, 0, 1), 0, DefaultDeepResearchRate)),
    ];

    private static WorkloadOptions DecodeHeavy(WorkloadOptions o) =>
        o with { SloBase = o.SloBase with { DeadlineS = o.SloBase.DeadlineS * DecodeHeavyDeadlineFactor } };

    /// <summary>The built-in workloads, in the order help texts should list them (the default, <c>mixed</c>, first).</summary>
    public static IReadOnlyList<WorkloadDescription> Names { get; } = [.. BuiltIns.Select(b => b.Description)];

    /// <summary>
    /// The workload named <paramref name="nameOrPath"/> (a built-in name, case-insensitive) or read from a
    /// <c>.jsonl</c> or <c>.csv</c> file. Throws <see cref="ArgumentException"/> for invalid options or an unknown
    /// name, <see cref="FileNotFoundException"/> for a missing file and <see cref="FormatException"/> naming the line
    /// for a malformed one. The same options always give the same workload.
    /// </summary>
    public static Workload Create(string nameOrPath, WorkloadOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        foreach (var (description, create) in BuiltIns)
        {
            if (string.Equals(description.Name, nameOrPath, StringComparison.OrdinalIgnoreCase))
            {
                return create(options);
            }
        }

        var isJsonl = nameOrPath.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase);
        var isCsv = nameOrPath.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);
        if (!isJsonl && !isCsv)
        {
            throw new ArgumentException($"unknown workload '{nameOrPath}'; use one of {string.Join(", ", Names.Select(n => n.Name))}, or a .jsonl or .csv file.");
        }

        if (!File.Exists(nameOrPath))
        {
            throw new FileNotFoundException($"workload file '{nameOrPath}' not found.", nameOrPath);
        }

        if (isJsonl)
        {
            return WorkloadJsonl.Read(nameOrPath, options);
        }

        using var reader = new StreamReader(nameOrPath, Encoding.UTF8);
        var fileName = Path.GetFileName(nameOrPath);
        return AzureTrace.Replay(AzureTrace.Parse(reader, fileName), Path.GetFileNameWithoutExtension(fileName), options);
    }
}
