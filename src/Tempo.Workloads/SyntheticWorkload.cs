namespace Tempo.Workloads;

/// <summary>
/// The artifact's reference workload (evaluation note A.3–A.5, docs/WORKLOADS.md), with synthetic chat prompts in place of LMSYS ones.
/// Two concurrent clients as in the artifact: the main client sends the shuffled latency, throughput and
/// tree-of-thought arrivals at R·(1 − n_DR/N); the deep-research client sends its jobs at R·n_DR/N.
/// </summary>
internal static class SyntheticWorkload
{
    /// <summary>Client id of the main stream.</summary>
    public const int MainClient = 0;

    /// <summary>Client id of the deep-research stream.</summary>
    public const int DeepResearchClient = 1;

    /// <summary>Generates the workload; <paramref name="ratio"/> and <paramref name="totFraction"/> override the options' (single-class workloads fix them).</summary>
    public static Workload Generate(string name, WorkloadOptions options, ClassRatio ratio, double totFraction, double defaultRate) =>
        Generate(name, options, ratio, totFraction, defaultRate, LengthShape.Chat);

    /// <summary>As above, with the prompt and output lengths of <paramref name="shape"/>.</summary>
    public static Workload Generate(string name, WorkloadOptions options, ClassRatio ratio, double totFraction, double defaultRate, LengthShape shape)
    {
        var n = options.Requests ?? WorkloadOptions.DefaultRequests;
        var rate = options.Rate ?? defaultRate;
        var counts = MixCounts.Of(n, ratio, totFraction);

        var main = counts.MainKinds();
        new Sampler(options.Seed, WorkloadStream.Classes).Shuffle(main);

        var builder = new WorkloadBuilder(options);
        var lengths = new Sampler(options.Seed, WorkloadStream.Lengths);
        var mainTimes = ArrivalTimes.Generate(options.Arrival, main.Count, rate * main.Count / n, options.BurstCv, new Sampler(options.Seed, WorkloadStream.MainArrivals));
        for (var i = 0; i < main.Count; i++)
        {
            // As in the artifact, every main-stream arrival (ToT included) is built from one chat entry, and the SLO
            // multiplier follows the position after the shuffle (collection_id mod 4).
            var chat = SyntheticChat.Draw(lengths, shape);
            builder.Add(main[i], mainTimes[i], options.Multiplier(i), chat.PromptTokens, chat.OutputTokens, chat.Text, MainClient);
        }

        var drTimes = ArrivalTimes.Generate(options.Arrival, counts.DeepResearch, rate * counts.DeepResearch / n, options.BurstCv, new Sampler(options.Seed, WorkloadStream.DeepResearchArrivals));
        for (var j = 0; j < counts.DeepResearch; j++)
        {
            builder.AddDeepResearch(drTimes[j], options.Multiplier(j), DeepResearchClient);
        }

        return builder.Build(name);
    }
}
