using Tempo.Core;
using Tempo.Engine;
using Tempo.Reports;
using Tempo.Simulation.Fidelity;
using Tempo.Simulation.Profiles;

namespace Tempo.Simulation.Tests.Fidelity;

public class FidelityTests
{
    private static readonly CostModel Model = new(CostProfile.Default);

    [Fact]
    public void StepFidelity_StepsTimedByTheProfileItself_HaveNoError()
    {
        WorkShape[] decode = [WorkShape.Decode(100), WorkShape.Decode(300)];
        WorkShape[] mixed = [WorkShape.Decode(100), WorkShape.Prefill(200, 0, false)];
        var steps = new[] { decode, mixed }.Select((w, i) => new LoggedStep(i, Model.ShapeTimeS(w, 0), w, 0)).ToArray();

        var fidelity = StepFidelity.Of(steps, CostProfile.Default);

        Assert.Equal(0, fidelity.All.Median, 9);
        Assert.Equal(1, fidelity.BusyRatio, 9);
        Assert.Equal(["decode", "mixed"], fidelity.ByKind.Keys);
    }

    [Fact]
    public void StepFidelity_MeasuredTwiceAsSlow_IsMinusFiftyPercent()
    {
        WorkShape[] work = [WorkShape.Prefill(64, 0, true)];
        var steps = new[] { new LoggedStep(0, 2 * Model.ShapeTimeS(work, 0), work, 0) };

        var fidelity = StepFidelity.Of(steps, CostProfile.Default);

        Assert.Equal(50, fidelity.All.Median, 9);
        Assert.Equal(-50, fidelity.All.MeanSigned, 9);
        Assert.Equal(0.5, fidelity.BusyRatio, 9);
        Assert.Throws<ArgumentException>(() => StepFidelity.Of([], CostProfile.Default));
    }

    [Fact]
    public void StepFidelity_NoisyStepsAroundTheModel_ShapeErrorZeroNoiseFloorTheNoise()
    {
        WorkShape[] work = [WorkShape.Decode(100), WorkShape.Decode(120)];
        var model = Model.ShapeTimeS(work, 0);

        // Three timings of one shape: 0.8x, 1x and 1.25x the model; the shape's median is the model.
        var steps = new[] { 0.8, 1.0, 1.25 }.Select((f, i) => new LoggedStep(i, f * model, work, 0)).ToArray();

        var fidelity = StepFidelity.Of(steps, CostProfile.Default);

        Assert.Equal(0, fidelity.ByShape.P90, 9);
        Assert.Equal(20, fidelity.All.Median, 6);
        Assert.Equal(20, fidelity.NoiseFloor.Median, 6);
    }

    [Fact]
    public void RequestFidelity_JoinsOnIdAndComparesAttainmentPerClass()
    {
        RecordRow[] real =
        [
            new("sarathi", 1, "latency", 0.10, 1.0, "length", true),
            new("sarathi", 2, "latency", 0.20, 2.0, "length", false),
            new("sarathi", 3, "throughput", 0.50, 4.0, "length", true),
            new("sarathi", 9, "throughput", 0.50, 4.0, "length", true),
        ];
        RecordRow[] sim =
        [
            new("sarathi", 1, "latency", 0.11, 1.2, "length", true),
            new("sarathi", 2, "latency", 0.20, 2.0, "length", true),
            new("sarathi", 3, "throughput", 0.40, 3.0, "length", true),
            new("tempo", 9, "throughput", 0.50, 4.0, "length", true),
        ];

        var f = RequestFidelity.Of("sarathi", real, sim);

        Assert.Equal(3, f.Matched);
        Assert.Equal(10, f.TtftPct.Median, 9);
        Assert.Equal(20, f.E2ePct.Median, 9);
        Assert.Equal((0.5, 1.0), f.Attainment["latency"]);
        Assert.Equal((1.0, 1.0), f.Attainment["throughput"]);
        Assert.Equal(2.0 / 3, f.SameVerdict, 9);
        Assert.Contains("tempo", Assert.Throws<ArgumentException>(() => RequestFidelity.Of("vllm", real, sim)).Message);
    }

    [Fact]
    public void RecordRow_ReadsTheRecordsCsvWriterOutput()
    {
        var spec = Specs.Make(7, prompt: 4, output: 2, cls: RequestClass.Latency, arrival: 1.0, slo: new Slo(1, 0.5, 10));
        var record = new RequestRecord(spec, 1.0, [1.25, 1.5], 1.5, FinishReason.Length);
        var aborted = new RequestRecord(spec with { Id = 8 }, 2.0, [], 2.5, FinishReason.Aborted, "client went away, \"really\"");
        var path = Path.Combine(Path.GetTempPath(), $"tempo-records-{Guid.NewGuid():N}.csv");
        try
        {
            RecordsCsv.Write(path, [new RunRecords("pol,icy", 2, [record, aborted], GainWeights.Paper)]);

            var rows = RecordRow.Read(path);

            Assert.Equal(2, rows.Count);
            Assert.Equal(new RecordRow("pol,icy", 7, "latency", 0.25, 0.5, "length", true), rows[0]);
            Assert.Null(rows[1].TtftS);
            Assert.False(rows[1].SloMet);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void RecordRow_NotARecordsCsv_ThrowsNamingTheColumn()
    {
        var path = Path.Combine(Path.GetTempPath(), $"tempo-records-{Guid.NewGuid():N}.csv");
        try
        {
            File.WriteAllText(path, "policy,rate,requests\nsarathi,1,3\n");

            Assert.Contains("'id'", Assert.Throws<FormatException>(() => RecordRow.Read(path)).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
