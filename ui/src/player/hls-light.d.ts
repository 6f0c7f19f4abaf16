// hls.js ships no typings for its light build; it has the same API minus
// subtitles, alternate audio, EME and CMCD, none of which the player uses.
declare module "hls.js/light" {
  import Hls from "hls.js";
  export default Hls;
}
