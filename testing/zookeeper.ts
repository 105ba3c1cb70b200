import { startQuietServer } from "./process.ts";
import { freePort } from "./ports.ts";

/** A standalone ZooKeeper child process on 127.0.0.1 with a temp data dir. */
export interface ZooKeeperProcess {
  /** Connect string, e.g. "127.0.0.1:21810". */
  connect: string;
  port: number;
  dir: string;
  /** Kills the JVM and removes its dirs. Safe to call twice. */
  stop(): Promise<void>;
}

/** The Debian package's jar; its manifest Class-Path names every dependency under /usr/share/java. */
export const ZOOKEEPER_JAR = "/usr/share/java/zookeeper.jar";

/**
 * Starts `java ... ZooKeeperServerMain zoo.cfg` on a free loopback port (tickTime 200 ms, so session timeouts
 * from 400 ms to 60 s are accepted) and waits until `srvr` reports it serving.
 */
export async function startZooKeeper(): Promise<ZooKeeperProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "codis-zk-" });
  await Deno.mkdir(`${dir}/data`);
  await Deno.mkdir(`${dir}/conf`);
  await Deno.writeTextFile(
    `${dir}/conf/zoo.cfg`,
    [
      "tickTime=200",
      `clientPort=${port}`,
      "clientPortAddress=127.0.0.1",
      `dataDir=${dir}/data`,
      "admin.enableServer=false",
      "4lw.commands.whitelist=ruok,srvr",
      "minSessionTimeout=400",
      "maxSessionTimeout=60000",
      "forceSync=no",
      "",
    ].join("\n"),
  );
  // A quiet log4j config in the conf dir, which comes first on the class path.
  await Deno.writeTextFile(
    `${dir}/conf/log4j.properties`,
    "log4j.rootLogger=ERROR, N\nlog4j.appender.N=org.apache.log4j.varia.NullAppender\n",
  );
  const args = [
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-Dzookeeper.jmx.log4j.disable=true",
    "-cp",
    `${dir}/conf:${ZOOKEEPER_JAR}`,
    "org.apache.zookeeper.server.ZooKeeperServerMain",
    `${dir}/conf/zoo.cfg`,
  ];
  const stop = await startQuietServer("java", args, dir, {
    // `ruok` answers as soon as the port is open; `srvr` reports a mode only once the server serves sessions.
    probe: async () => (await fourLetter(port, "srvr")).includes("Mode: standalone"),
    timeoutMs: 30_000,
    stepMs: 100,
    failure: "ZooKeeper did not start serving within 30 s",
  });
  return { connect: `127.0.0.1:${port}`, port, dir, stop };
}

async function fourLetter(port: number, cmd: string): Promise<string> {
  let conn: Deno.TcpConn | undefined;
  // A server that is still starting may keep the connection open without answering: bound the wait.
  const timer = setTimeout(() => {
    try {
      conn?.close();
    } catch { /* already closed */ }
    conn = undefined;
  }, 1000);
  let out = "";
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(cmd));
    const buf = new Uint8Array(4096);
    for (let i = 0; i < 64 && conn; i++) {
      const n = await conn.read(buf);
      if (n === null) break;
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } catch {
    // refused, reset or closed by the timer
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the server */ }
  }
  return out;
}
