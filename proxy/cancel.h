// Forwards a client's CancelRequest to the PostgreSQL backend serving it:
// a short-lived connection to the server that sends the backend's own key and
// waits for the postmaster to close it (by then the signal was delivered, so
// the server connection can safely serve someone else).
#pragma once

#include <cstdint>

#include "proxy/peer.h"

struct sockaddr;

namespace pgs {

class CancelConnection final : public Peer {
 public:
  CancelConnection(Worker& worker, uint64_t server_id, int32_t pid, int32_t key);
  void connect(const sockaddr* address);

 private:
  size_t on_input(std::string_view input) override { return input.size(); }
  void on_disconnect(int) override {}
  void on_closed() override;
  static void connect_cb(uv_connect_t* req, int status);

  uv_connect_t connect_req_{};
  uint64_t server_id_;
  int32_t pid_;
  int32_t key_;
};

}  // namespace pgs
