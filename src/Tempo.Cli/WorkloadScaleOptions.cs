using System.CommandLine;

using Tempo.Workloads;

namespace Tempo.Cli;

/// <summary>
/// <c>--length-scale</c> and <c>--slo-scale</c>, shared by <c>simulate</c> and <c>bench</c> so that both sides of a
/// simulator-versus-engine comparison build the same scaled workload from the same words.
/// </summary>
internal static class WorkloadScaleOptions
{
    private static readonly Option<double> LengthScale = new("--length-scale")
    {
        Description = "multiply every request's prompt and output tokens (rounded, at least 1), e.g. 0.1 for a CPU model",
        DefaultValueFactory = _ => 1.0,
    };

    private static readonly Option<double> SloScale = new("--slo-scale")
    {
        Description = "multiply every SLO time: TTFT, TBT, deadlines, job deadlines, a JSONL file's own SLOs",
        DefaultValueFactory = _ => 1.0,
    };

    public static void AddTo(Command command)
    {
        command.Options.Add(LengthScale);
        command.Options.Add(SloScale);
    }

    public static WorkloadScale Read(ParseResult parse) => new(
        OptionParsing.Scale(parse.GetValue(LengthScale), "--length-scale"),
        OptionParsing.Scale(parse.GetValue(SloScale), "--slo-scale"));
}

/// <summary>The workload scale factors of a run.</summary>
/// <param name="Length">Multiplier of token counts.</param>
/// <param name="Slo">Multiplier of SLO times.</param>
internal sealed record WorkloadScale(double Length, double Slo)
{
    public WorkloadOptions Apply(WorkloadOptions options) => options with { LengthScale = Length, SloScale = Slo };
}
