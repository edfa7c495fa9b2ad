# Homebrew formula for bifrost, built from the source tarball with cargo.
#
# This is the template, with placeholders for the url, sha256, homepage and commit:
# scripts/homebrew-formula.sh makes the tarball with `git archive`, fills them in and writes the
# finished formula next to the tarball, ready for a tap or `brew install --formula ./bifrost.rb`.
class Bifrost < Formula
  desc "AI gateway: every LLM provider behind one OpenAI-compatible API"
  homepage "@HOMEPAGE@"
  url "@URL@"
  sha256 "@SHA256@"
  license "Apache-2.0"

  depends_on "rust" => :build

  def install
    # A tarball has no .git: build.rs takes the commit for `bifrost --version` from here.
    ENV["BIFROST_GIT_COMMIT"] = "@COMMIT@"
    system "cargo", "install", *std_cargo_args
  end

  test do
    assert_match "bifrost #{version} (@COMMIT@)", shell_output("#{bin}/bifrost --version")

    port = free_port
    health = "http://127.0.0.1:#{port}/health"
    pid = spawn bin/"bifrost", "serve", "--host", "127.0.0.1", "--port", port.to_s,
                "--app-dir", testpath
    begin
      60.times do
        break if quiet_system "curl", "--silent", "--fail", health

        sleep 0.5
      end
      assert_match '"status":"ok"', shell_output("curl --silent #{health}")
    ensure
      Process.kill("TERM", pid)
      Process.wait(pid)
    end
  end
end
