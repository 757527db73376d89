using System.Globalization;

namespace Tempo.Cli.Tests;

[Collection("console")]
public class BoundCommandTests
{
    [Fact]
    public void Bound_Csv_OneRowPerRateAndTheBoundFallsAsLoadRises()
    {
        var (exit, stdout, _) = CliRunner.Run(["bound", "--requests", "60", "--rates", "1,40", "--seed", "3", "--format", "csv"]);

        Assert.Equal(0, exit);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("workload,rate,requests,service_gain_bound,slo_met_bound,duration_lower_s,service_goodput_bound", lines[0]);
        Assert.Equal(3, lines.Length);
        var light = lines[1].Split(',');
        var heavy = lines[2].Split(',');
        Assert.Equal(["1", "40"], [light[1], heavy[1]]);
        // At 40/s the same arrivals overload the engine: less can be earned, and the run can end sooner.
        Assert.True(Num(heavy[3]) <= Num(light[3]), $"{heavy[3]} > {light[3]}");
        Assert.True(Num(heavy[5]) <= Num(light[5]), $"{heavy[5]} > {light[5]}");
    }

    [Theory]
    [InlineData("--format", "json", "use table or csv")]
    [InlineData("--planes", "1", "--planes must be from 2 to 32")]
    [InlineData("--planes", "1000000", "--planes must be from 2 to 32")]
    [InlineData("--planes", "many", "many")]
    [InlineData("--token-budget", "1000000000", "--token-budget must be at most 16384")]
    [InlineData("--max-batch", "-3", "--max-batch must be positive")]
    [InlineData("--rates", "0", "must be positive")]
    [InlineData("--slo-scale", "NaN", "--slo-scale")]
    [InlineData("--token-budget", "0", "--token-budget must be positive")]
    [InlineData("--workload", "no-such-workload", "unknown workload")]
    public void Bound_ImpossibleOption_OneLineErrorAndExitCode2(string option, string value, string expected)
    {
        var (exit, stdout, stderr) = CliRunner.Run(["bound", "--requests", "20", option, value]);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("tempo: error:", StringComparison.Ordinal));
        Assert.Contains(expected, line);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void Bound_WorkloadTooLargeToBound_OneLineErrorAndExitCode2()
    {
        var (exit, stdout, stderr) = CliRunner.Run(["bound", "--requests", "20000", "--rates", "8"]);

        Assert.Equal(2, exit);
        Assert.Equal(string.Empty, stdout);
        Assert.Contains("tempo: error:", stderr);
        Assert.Contains("use fewer requests", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    private static double Num(string s) => double.Parse(s, CultureInfo.InvariantCulture);
}
