using System.CommandLine;
using System.Globalization;

using Tempo.Scheduling;
using Tempo.Scheduling.Tempo;

namespace Tempo.Cli;

/// <summary>Command-line options that vary Tempo's parameters for ablations (TEMPO-ALGORITHM.md §3.11 defaults).</summary>
internal static class TempoAblationOptions
{
    private static readonly Option<double?> Penalty = new("--penalty") { Description = "tempo: penalty exponent p on the SLO ratio (default 100)" };
    private static readonly Option<int?> ReplanInterval = new("--replan-interval") { Description = "tempo: re-plan every R steps (default 50)" };
    private static readonly Option<int?> TopK = new("--top-k") { Description = "tempo: candidate pool k·B for the grouped window (default 1)" };
    private static readonly Option<int?> MaxSwaps = new("--max-swaps") { Description = "tempo: activations/evictions per re-plan S (default 3)" };
    private static readonly Option<bool> Jit = new("--jit") { Description = "tempo: just-in-time bandwidth (defer requests ahead of their SLO pace)" };
    private static readonly Option<bool> NoTopUp = new("--no-collective-top-up") { Description = "tempo: disable the collective bandwidth top-up (A′)" };

    public static void AddTo(Command command)
    {
        foreach (var option in new Option[] { Penalty, ReplanInterval, TopK, MaxSwaps, Jit, NoTopUp })
        {
            command.Options.Add(option);
        }
    }

    public static TempoAblation Read(ParseResult parse)
    {
        var o = TempoOptions.Default;
        o = parse.GetValue(Penalty) is { } p ? o with { PenaltyExponent = p } : o;
        o = parse.GetValue(ReplanInterval) is { } r ? o with { ReplanInterval = r } : o;
        o = parse.GetValue(TopK) is { } k ? o with { CandidateFactor = k } : o;
        o = parse.GetValue(MaxSwaps) is { } s ? o with { MaxSwapsPerReplan = s } : o;
        o = o with { JustInTime = parse.GetValue(Jit), CollectiveTopUp = !parse.GetValue(NoTopUp) };
        try
        {
            o.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CliUsageException("tempo options: " + e.Message);
        }

        return new TempoAblation(o);
    }
}

/// <summary>The Tempo parameters of a run.</summary>
internal sealed record TempoAblation(TempoOptions Options)
{
    public SchedulerOptions Apply(SchedulerOptions options) => options with { Tempo = Options };

    public IEnumerable<KeyValuePair<string, string>> Describe()
    {
        var o = Options;
        yield return new("tempo", string.Create(CultureInfo.InvariantCulture,
            $"p={o.PenaltyExponent} R={o.ReplanInterval} k={o.CandidateFactor} S={o.MaxSwapsPerReplan} jit={o.JustInTime} top_up={o.CollectiveTopUp}"));
    }
}
