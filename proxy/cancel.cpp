#include "proxy/cancel.h"

#include <string>

#include "protocol/messages.h"
#include "proxy/log.h"
#include "proxy/worker.h"

namespace pgs {

CancelConnection::CancelConnection(Worker& worker, uint64_t server_id, int32_t pid, int32_t key)
    : Peer(worker), server_id_(server_id), pid_(pid), key_(key) {
  connect_req_.data = this;
}

void CancelConnection::connect(const sockaddr* address) {
  if (uv_tcp_connect(&connect_req_, tcp(), address, connect_cb) != 0) close();
}

void CancelConnection::connect_cb(uv_connect_t* req, int status) {
  auto* self = static_cast<CancelConnection*>(req->data);
  if (status == UV_ECANCELED) return;
  if (status < 0) {
    LOG_WARN("cancel: could not connect to server: %s", uv_strerror(status));
    self->close();
    return;
  }
  std::string packet;
  proto::write_cancel_request(packet, self->pid_, self->key_);
  self->send(packet);
  self->start_reading();  // the postmaster closes the connection when done
}

void CancelConnection::on_closed() { worker_.cancel_finished(server_id_); }

}  // namespace pgs
